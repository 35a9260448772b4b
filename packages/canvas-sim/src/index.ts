/**
 * @easel/canvas-sim: a Canvas LMS simulator speaking Canvas's OAuth2 and REST dialect, with seeded lazy
 * data, Link pagination, the leaky-bucket throttle, fault injection and request statistics.
 */

export type { CanvasObject, EnrollmentFilter, SimData, SubmissionFilter } from "./data/accessors.js";
export type { ActivityReport } from "./data/activity.js";
export type { StudentSummaryRow } from "./data/analytics.js";
export {
  CanvasSimError,
  type CanvasSimErrorCode,
  SIM_LISTEN_FAILED,
  SIM_UNKNOWN_CLIENT,
  SIM_UNKNOWN_USER,
} from "./errors.js";
export type { ActiveFaultRule, FaultKind, FaultRule } from "./faults.js";
export { parseFaultSpec } from "./faults.js";
export type { CanvasSimOptions, ThrottleSettings } from "./options.js";
export { DEFAULT_NOW, DEFAULT_THROTTLE } from "./options.js";
export type { ProgressJson } from "./progress.js";
export {
  type CanvasSim,
  type CreateDeveloperTokenInput,
  createCanvasSim,
  type MintOAuthTokensInput,
  type OAuthTokenResponse,
  type RegisterClientInput,
  type SimAdmin,
  type SimFaults,
} from "./sim.js";
export type { SimStats } from "./stats.js";
export { tokenFingerprint } from "./tokens.js";
