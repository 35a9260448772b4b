export const REAUTH_REQUIRED = "REAUTH_REQUIRED";
export const REFRESH_FAILED = "REFRESH_FAILED";
export const OAUTH_ERROR = "OAUTH_ERROR";

export type AuthErrorCode = typeof REAUTH_REQUIRED | typeof REFRESH_FAILED | typeof OAUTH_ERROR;

/** Base class of auth failures. Messages never contain a token, refresh token, code or secret. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  constructor(code: AuthErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
  }
}

/**
 * No refresh can help: the developer token is invalid, or the refresh token was revoked or
 * expired. A person must log in again (or import a new token). The stored record is kept.
 * The CLI exits 3 on it and prints `remedy`.
 */
export class ReauthorizationRequiredError extends AuthError {
  /** The command or action that fixes it, e.g. "easel login --key default". */
  readonly remedy: string;
  constructor(message: string, options: { cause?: unknown; remedy?: string } = {}) {
    super(REAUTH_REQUIRED, message, options);
    this.remedy = options.remedy ?? "easel login";
  }
}
