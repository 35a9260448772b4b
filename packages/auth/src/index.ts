export {
  AuthError,
  type AuthErrorCode,
  OAUTH_ERROR,
  REAUTH_REQUIRED,
  REFRESH_FAILED,
  ReauthorizationRequiredError,
} from "./errors.js";
export type { TokenProvider } from "./provider.js";
