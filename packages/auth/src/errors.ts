export const REAUTH_REQUIRED = "REAUTH_REQUIRED";
export const REFRESH_FAILED = "REFRESH_FAILED";
export const OAUTH_ERROR = "OAUTH_ERROR";
export const TOKEN_API_FAILED = "TOKEN_API_FAILED";

export type AuthErrorCode =
  | typeof REAUTH_REQUIRED
  | typeof REFRESH_FAILED
  | typeof OAUTH_ERROR
  | typeof TOKEN_API_FAILED;

/** Where a remote failure happened. Never carries a token, code or secret. */
export interface RemoteFailure {
  /** HTTP status, when Canvas answered. */
  status?: number | undefined;
  /** Method and path of the request, e.g. "POST /login/oauth2/token". */
  endpoint?: string | undefined;
  /** Canvas's `X-Request-Context-Id`, to quote to Instructure support. */
  requestId?: string | undefined;
}

export interface AuthErrorOptions extends RemoteFailure {
  cause?: unknown;
}

/** Base class of auth failures. Messages never contain a token, refresh token, code or secret. */
export class AuthError extends Error {
  readonly code: AuthErrorCode;
  readonly status: number | undefined;
  readonly endpoint: string | undefined;
  readonly requestId: string | undefined;
  constructor(code: AuthErrorCode, message: string, options: AuthErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.status = options.status;
    this.endpoint = options.endpoint;
    this.requestId = options.requestId;
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
  constructor(message: string, options: AuthErrorOptions & { remedy?: string } = {}) {
    super(REAUTH_REQUIRED, message, options);
    this.remedy = options.remedy ?? "easel login";
  }
}

/**
 * Canvas refused an OAuth step in a way a retry will not fix and a new login may not fix
 * either: a wrong client id or secret (`invalid_client`), a consent denied (`access_denied`),
 * a state mismatch, an authorization code already used or a wrong PKCE verifier
 * (`invalid_grant`).
 */
export class OAuthError extends AuthError {
  /** The OAuth `error` value (`invalid_client`, `access_denied`, `state_mismatch`, ...). */
  readonly error: string;
  /** Canvas's `error_description`, which never echoes a secret. */
  readonly errorDescription: string | undefined;
  constructor(
    message: string,
    options: AuthErrorOptions & { error: string; errorDescription?: string | undefined },
  ) {
    super(OAUTH_ERROR, message, options);
    this.error = options.error;
    this.errorDescription = options.errorDescription;
  }
}

/**
 * A refresh failed for a reason that may pass (network error, timeout, 5xx, 429, garbled
 * answer). `TokenManager` retries these with backoff and throws this one when it gives up;
 * the stored record is untouched, so the next run simply tries again.
 */
export class RefreshFailedError extends AuthError {
  /** Whether trying again later can succeed. Always true for errors TokenManager gives up on. */
  readonly retryable: boolean;
  /** How many token requests were made before giving up. */
  readonly attempts: number;
  constructor(message: string, options: AuthErrorOptions & { retryable?: boolean; attempts?: number } = {}) {
    super(REFRESH_FAILED, message, options);
    this.retryable = options.retryable ?? true;
    this.attempts = options.attempts ?? 1;
  }
}

/**
 * A call to Canvas's Access Tokens API or to the token revocation endpoint failed (network,
 * 5xx, a token that cannot be regenerated, ...). Rotation that fails this way leaves the stored
 * record untouched unless Canvas already answered with a new token.
 */
export class TokenApiError extends AuthError {
  readonly retryable: boolean;
  constructor(message: string, options: AuthErrorOptions & { retryable?: boolean } = {}) {
    super(TOKEN_API_FAILED, message, options);
    this.retryable = options.retryable ?? false;
  }
}

/** `TypeError` with a Node-style code, for bad arguments and options. */
export function invalidArgument(message: string): TypeError & { code: "ERR_INVALID_ARG_VALUE" } {
  const error = new TypeError(message) as TypeError & { code: "ERR_INVALID_ARG_VALUE" };
  error.code = "ERR_INVALID_ARG_VALUE";
  return error;
}
