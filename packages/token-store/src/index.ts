export {
  CORRUPT_RECORD,
  CorruptRecordError,
  DECRYPT_FAILED,
  DecryptFailedError,
  ERR_INVALID_ARG_VALUE,
  INSECURE_PERMISSIONS,
  InsecurePermissionsError,
  InvalidArgumentError,
  LOCK_TIMEOUT,
  LockTimeoutError,
  STORE_AUTH_FAILED,
  STORE_CONFLICT,
  STORE_UNAVAILABLE,
  StoreAuthError,
  StoreConflictError,
  StoreUnavailableError,
  TokenStoreError,
  type TokenStoreErrorCode,
  type TokenStoreErrorOptions,
} from "./errors.js";
export type { StoreFactoryOptions, TokenStoreFactory } from "./factory.js";
export { KeyedLock } from "./key-lock.js";
export { MemoryStore } from "./memory-store.js";
export { pythonJsonDumps } from "./python-json.js";
export type { TokenRecord, TokenUser } from "./record.js";
export type { LockOptions, TokenStore } from "./store.js";
export { DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS } from "./store.js";
export { parseTokenRecord } from "./validate.js";
