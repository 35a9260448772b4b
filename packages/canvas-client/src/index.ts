export {
  CanvasClient,
  type CanvasClientStats,
  type CanvasPage,
  type HttpMethod,
  type PaginateOptions,
  type RequestOptions,
} from "./client.js";
export type { Params, ParamValue } from "./encode.js";
export type {
  AccountsApi,
  AnalyticsApi,
  AssignmentsApi,
  CoursesApi,
  EnrollmentsApi,
  ForStudentsOptions,
  GradesApi,
  GradeUpdate,
  ProgressApi,
  SubmissionsApi,
  TokensApi,
  UsersApi,
  WaitForProgressOptions,
} from "./endpoints.js";
export {
  CANVAS_API_ERROR,
  CANVAS_BAD_REQUEST,
  CANVAS_FORBIDDEN,
  CANVAS_NOT_FOUND,
  CanvasApiError,
  CanvasBadRequestError,
  type CanvasErrorCode,
  type CanvasErrorDetails,
  CanvasForbiddenError,
  CanvasNetworkError,
  CanvasNotFoundError,
  CanvasProgressFailedError,
  CanvasRateLimitError,
  CanvasResponseError,
  CanvasServerError,
  CanvasTimeoutError,
  CanvasUnauthorizedError,
  MALFORMED_RESPONSE,
  NETWORK,
  PROGRESS_FAILED,
  RATE_LIMITED,
  REAUTH_REQUIRED,
  TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "./errors.js";
export { type LinkRel, type PageLinks, parseLinkHeader } from "./link.js";
export type { CanvasLogger } from "./logger.js";
export type { CanvasClientOptions, PacingOptions, RetryOptions } from "./options.js";
export { staticTokenProvider } from "./static-token.js";
export type * from "./types.js";
