/** Stable error codes of every token store. Documented in the package README. */
export const DECRYPT_FAILED = "DECRYPT_FAILED";
export const CORRUPT_RECORD = "CORRUPT_RECORD";
export const STORE_UNAVAILABLE = "STORE_UNAVAILABLE";
export const LOCK_TIMEOUT = "LOCK_TIMEOUT";
export const INSECURE_PERMISSIONS = "INSECURE_PERMISSIONS";
export const STORE_AUTH_FAILED = "STORE_AUTH_FAILED";
export const STORE_CONFLICT = "STORE_CONFLICT";

export type TokenStoreErrorCode =
  | typeof DECRYPT_FAILED
  | typeof CORRUPT_RECORD
  | typeof STORE_UNAVAILABLE
  | typeof LOCK_TIMEOUT
  | typeof INSECURE_PERMISSIONS
  | typeof STORE_AUTH_FAILED
  | typeof STORE_CONFLICT;

export interface TokenStoreErrorOptions {
  cause?: unknown;
  /** Where the record lives (a path, a Redis key, a Vault path): never a secret. */
  location?: string;
}

/**
 * Base class of every store failure. A store that throws one of these has left what it
 * could not read exactly as it was: no reset, no truncation, no overwrite.
 */
export class TokenStoreError extends Error {
  readonly code: TokenStoreErrorCode;
  readonly location: string | undefined;

  constructor(code: TokenStoreErrorCode, message: string, options: TokenStoreErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.location = options.location;
  }
}

/** Wrong key or tampered bytes: the record exists but cannot be decrypted. */
export class DecryptFailedError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(DECRYPT_FAILED, message, options);
  }
}

/** Decrypted (or read) fine, but the content is not a token record. */
export class CorruptRecordError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(CORRUPT_RECORD, message, options);
  }
}

/** The backend cannot be reached or refuses service (Redis down, Vault sealed, unreadable dir). */
export class StoreUnavailableError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(STORE_UNAVAILABLE, message, options);
  }
}

/** `withLock` waited longer than `waitMs` for another holder. */
export class LockTimeoutError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(LOCK_TIMEOUT, message, options);
  }
}

/** A secrets file readable by group or others. */
export class InsecurePermissionsError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(INSECURE_PERMISSIONS, message, options);
  }
}

/** The backend rejected our credentials (Redis password, Vault token or AppRole). */
export class StoreAuthError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(STORE_AUTH_FAILED, message, options);
  }
}

/** A check-and-set write lost its race more times than it retries. */
export class StoreConflictError extends TokenStoreError {
  constructor(message: string, options: TokenStoreErrorOptions = {}) {
    super(STORE_CONFLICT, message, options);
  }
}

/** The `code` of every bad-argument error, as Node's own (`ERR_INVALID_ARG_VALUE`). */
export const ERR_INVALID_ARG_VALUE = "ERR_INVALID_ARG_VALUE";

/**
 * A bad argument, Node style: a `TypeError` with `code: "ERR_INVALID_ARG_VALUE"` whose message
 * names the option and the value received (masked when the value may hold a secret). Thrown
 * once, where options are normalised, by every store.
 *
 * @example
 * throw new InvalidArgumentError(`withLock options.ttlMs must be a positive number; received ${ttlMs}.`);
 */
export class InvalidArgumentError extends TypeError {
  readonly code = ERR_INVALID_ARG_VALUE;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = this.constructor.name;
  }
}
