export {
  type CanvasAuthFlags,
  type CanvasAuthSettings,
  type CredentialSource,
  canvasAuthSettings,
  canvasRootUrl,
  credentialSource,
  type LoginStrategyOptions,
  type OAuthClientSettings,
  oauthStrategy,
  type RecordStrategyOptions,
  requireOAuthClient,
  strategyForRecord,
} from "./canvas-auth.js";
export { defaultTokenStoreUri, type EaselEnvConfig, readEnvConfig } from "./env.js";
export { CONFIG_INVALID, ConfigError, type ConfigErrorCode, INVALID_STORE_URI } from "./errors.js";
export { openTokenStore, redactStoreUri, STORE_URI_FORMS, storeSchemeOf } from "./store-uri.js";
