/** Re-exported for code written against auth's former own `Clock`: it is `@easel/clock`'s. */
export { type Clock, systemClock } from "@easel/clock";
export {
  type AccessTokenInfo,
  type DeveloperTokenOptions,
  type DeveloperTokenStrategy,
  developerToken,
  type RotateOptions,
} from "./developer-token.js";
export {
  AuthError,
  type AuthErrorCode,
  type AuthErrorOptions,
  OAUTH_ERROR,
  OAuthError,
  REAUTH_REQUIRED,
  REFRESH_FAILED,
  ReauthorizationRequiredError,
  RefreshFailedError,
  type RemoteFailure,
  TOKEN_API_FAILED,
  TokenApiError,
} from "./errors.js";
export { type FetchLike, isLoopbackHttpUrl } from "./http.js";
export type { AuthLogger } from "./logger.js";
export {
  type AuthorizationUrlParams,
  type ExchangeCodeParams,
  type LoginStart,
  type OAuthOptions,
  type OAuthStrategy,
  oauth,
} from "./oauth.js";
export { staticTokenProvider, type TokenProvider } from "./provider.js";
export type { AuthStrategy, CallOptions, RevokeOutcome } from "./strategy.js";
export { type RevokeResult, TokenAdmin, type TokenStatus } from "./token-admin.js";
export {
  type RefreshReason,
  TokenManager,
  type TokenManagerEvent,
  type TokenManagerOptions,
  type TokenManagerStats,
} from "./token-manager.js";
