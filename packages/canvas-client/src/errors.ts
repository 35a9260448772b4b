import type { Progress } from "./types.js";

/** Stable error codes of the Canvas client. Documented in the package README. */
export const CANVAS_API_ERROR = "CANVAS_API_ERROR";
export const CANVAS_FORBIDDEN = "CANVAS_FORBIDDEN";
export const CANVAS_NOT_FOUND = "CANVAS_NOT_FOUND";
export const CANVAS_BAD_REQUEST = "CANVAS_BAD_REQUEST";
export const RATE_LIMITED = "RATE_LIMITED";
export const UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE";
export const NETWORK = "NETWORK";
export const TIMEOUT = "TIMEOUT";
export const MALFORMED_RESPONSE = "MALFORMED_RESPONSE";
export const PROGRESS_FAILED = "PROGRESS_FAILED";
/** Same string as `@easel/auth`'s code, so callers branch on one value for "log in again". */
export const REAUTH_REQUIRED = "REAUTH_REQUIRED";

export type CanvasErrorCode =
  | typeof CANVAS_API_ERROR
  | typeof CANVAS_FORBIDDEN
  | typeof CANVAS_NOT_FOUND
  | typeof CANVAS_BAD_REQUEST
  | typeof RATE_LIMITED
  | typeof UPSTREAM_UNAVAILABLE
  | typeof NETWORK
  | typeof TIMEOUT
  | typeof MALFORMED_RESPONSE
  | typeof PROGRESS_FAILED
  | typeof REAUTH_REQUIRED;

export interface CanvasErrorDetails {
  cause?: unknown;
  /** HTTP status Canvas answered with; undefined when no response arrived. */
  status?: number | undefined;
  method?: string | undefined;
  /** URL path without the query string (so no `access_token`, no bookmarks), token ids redacted. */
  path?: string | undefined;
  /** Messages Canvas put in the body (`errors[].message`, `message`, `error`). */
  canvasMessages?: readonly string[] | undefined;
  /** `X-Request-Context-Id` (or `X-Request-Id`): quote it to Canvas support. */
  requestId?: string | undefined;
  /** How many attempts were made before giving up. */
  attempts?: number | undefined;
  /** True when a non-idempotent request may have been applied although no usable answer came back. */
  maybeApplied?: boolean | undefined;
}

/**
 * Base class of every failure the Canvas client reports. Messages and properties never hold an
 * access token, a refresh token, or a response body with student data.
 */
export class CanvasApiError extends Error {
  readonly code: CanvasErrorCode;
  readonly status: number | undefined;
  readonly method: string | undefined;
  readonly path: string | undefined;
  readonly canvasMessages: readonly string[];
  readonly requestId: string | undefined;
  readonly attempts: number | undefined;
  readonly maybeApplied: boolean;

  constructor(code: CanvasErrorCode, message: string, details: CanvasErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.status = details.status;
    this.method = details.method;
    this.path = details.path;
    this.canvasMessages = details.canvasMessages ?? [];
    this.requestId = details.requestId;
    this.attempts = details.attempts;
    this.maybeApplied = details.maybeApplied ?? false;
  }
}

/**
 * Canvas refused the caller: a 403 that is not a rate limit, or a 401 WITHOUT `WWW-Authenticate`
 * (insufficient scopes, or a permission error on older Canvas). Refreshing the token cannot help.
 */
export class CanvasForbiddenError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(CANVAS_FORBIDDEN, message, details);
  }
}

/**
 * Canvas still said 401 (with `WWW-Authenticate`) after the token provider handed out a fresh
 * token, or the provider handed back the rejected token: a person must authorize again.
 */
export class CanvasUnauthorizedError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(REAUTH_REQUIRED, message, details);
  }
}

/** 404: the resource does not exist, or (analytics) the feature is disabled for the course. */
export class CanvasNotFoundError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(CANVAS_NOT_FOUND, message, details);
  }
}

/** 400 or 422: Canvas rejected the parameters (see `canvasMessages`). */
export class CanvasBadRequestError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(CANVAS_BAD_REQUEST, message, details);
  }
}

/** Still throttled (429, or 403 "Rate Limit Exceeded") after the rate-limit retry budget ran out. */
export class CanvasRateLimitError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(RATE_LIMITED, message, details);
  }
}

/** 5xx after the retry budget ran out (or at once for a request that is not safe to replay). */
export class CanvasServerError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(UPSTREAM_UNAVAILABLE, message, details);
  }
}

/** No usable HTTP answer: connection refused, reset or dropped. */
export class CanvasNetworkError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}, code: CanvasErrorCode = NETWORK) {
    super(code, message, details);
  }
}

/** No complete answer within `timeoutMs`. */
export class CanvasTimeoutError extends CanvasNetworkError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(message, details, TIMEOUT);
  }
}

/**
 * The answer cannot be trusted: not JSON, a truncated body, a page that is not an array, a full
 * page without a `Link` header, or a `next` link to another origin. Never a silent truncation.
 */
export class CanvasResponseError extends CanvasApiError {
  constructor(message: string, details: CanvasErrorDetails = {}) {
    super(MALFORMED_RESPONSE, message, details);
  }
}

/**
 * `progress.waitFor()` saw `workflow_state: "failed"`. `progress` is the final Progress object;
 * for bulk grading this may be a PARTIAL success (other students were graded).
 */
export class CanvasProgressFailedError extends CanvasApiError {
  readonly progress: Progress;
  constructor(message: string, progress: Progress, details: CanvasErrorDetails = {}) {
    super(PROGRESS_FAILED, message, details);
    this.progress = progress;
  }
}
