export type { GatewayContext, Principal } from "./context.js";
export type { ManagedCredential } from "./credentials.js";
export {
  BAD_USER_INPUT,
  FORBIDDEN,
  GATEWAY_TIMEOUT,
  GatewayError,
  type GatewayErrorCode,
  INTERNAL_SERVER_ERROR,
  NOT_FOUND,
  RATE_LIMITED,
  REAUTH_REQUIRED,
  SESSION_STORE_UNAVAILABLE,
  UNAUTHENTICATED,
  UPSTREAM_UNAVAILABLE,
} from "./errors.js";
export { exampleQuery } from "./examples.js";
export { createGateway, type Gateway } from "./gateway.js";
export { createGatewayLogger, REDACT_PATHS } from "./logger.js";
export { GatewayMetrics } from "./metrics.js";
export {
  type CanvasClientTuning,
  DEFAULT_LIMITS,
  type GatewayLimits,
  type GatewayOptions,
  type LoaderStrategy,
  type ServiceModeOptions,
  type UserModeOptions,
} from "./options.js";
export { LOGIN_COOKIE, SESSION_COOKIE, userRecordKey } from "./plugins/use-user-session.js";
export { createSharedCacheStore, type SharedCacheStore, sharedCacheStore } from "./replicas/cache-store.js";
export { parseSharedCacheUrl, type SharedCacheTarget } from "./replicas/cache-url.js";
export {
  SHARED_CACHE_UNAVAILABLE,
  SharedBackend,
  SharedCacheUnavailableError,
} from "./replicas/shared-backend.js";
export {
  MemoryResponseStore,
  ResponseCache,
  type ResponseStore,
  type StoredResponse,
} from "./response-cache.js";
export { gatewaySchema, printGatewaySchema } from "./schema/index.js";
export { type ListenOptions, type RunningGateway, startGateway } from "./server.js";
export {
  loadTrustedDocuments,
  operationsToRegister,
  type RegisteredOperation,
  TRUSTED_DOCUMENT_NOT_FOUND,
  TRUSTED_DOCUMENT_REQUIRED,
  type TrustedDocumentManifest,
  trustedDocumentHash,
} from "./trusted-documents.js";
