export {
  type BudgetGrant,
  type BudgetModel,
  type BudgetOutcome,
  type BudgetRequest,
  RATE_LIMIT_BUDGET_UNAVAILABLE,
  type RateLimitBudget,
} from "./budget.js";
export {
  CanvasClient,
  type CanvasClientStats,
  type CanvasPage,
  type HttpMethod,
  type PaginateOptions,
  type RequestOptions,
} from "./client.js";
export type { Params, ParamValue } from "./encode.js";
export {
  type AccountsApi,
  type AnalyticsApi,
  type AssignmentsApi,
  type CanvasEndpoints,
  type CanvasTransport,
  type CoursesApi,
  canvasEndpoints,
  canvasProbeUrl,
  type EnrollmentsApi,
  type ForStudentsOptions,
  type GradesApi,
  type GradeUpdate,
  isRollCallAssignment,
  MAX_STUDENT_IDS,
  type ProgressApi,
  ROLL_CALL_ASSIGNMENT_NAME,
  type StudentGradeChange,
  type SubmissionsApi,
  type TokensApi,
  type UsersApi,
  type WaitForProgressOptions,
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
export {
  type CourseShape,
  GROUPED_SUBMISSIONS_PER_PAGE,
  type SubmissionsPlan,
  type SubmissionsPlanOptions,
  submissionsPlan,
} from "./submissions-plan.js";
export type * from "./types.js";
