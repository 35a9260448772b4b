import { invalidArg } from "./errors.js";
import { type FaultRule, parseFaultSpec } from "./faults.js";

/** Canvas's leaky-bucket settings (canvas:app/middleware/request_throttle.rb). */
export interface ThrottleSettings {
  /** Bucket "full" at this count: requests starting then are throttled. @default 600 */
  hwm: number;
  /** The count never exceeds this, so `X-Rate-Limit-Remaining` bottoms out at hwm - maximum. @default 800 */
  maximum: number;
  /** Units leaked per simulated second. @default 10 */
  outflowPerSecond: number;
  /** Charged when a request starts, credited back when it ends. @default 50 */
  upFrontCost: number;
  /** Cost of one request (Canvas charges CPU + DB seconds; the simulator a fixed amount). @default 0.01 */
  costPerRequest: number;
  /** Extra cost per row returned, so tests can make big pages expensive. @default 0 */
  costPerRow: number;
  /** Extra cost of each POST /login/oauth2/token (`oauth_token_additional_request_cost`). @default 200 */
  oauthTokenCost: number;
}

/** Options of `createCanvasSim`. Every field is optional. */
export interface CanvasSimOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** Seed of every generated value (names, scores, states) and of the fault RNG. @default 1 */
  seed?: number;
  /** Number of courses, ids 1..N. @default 5 */
  courses?: number;
  /** @default 200 */
  studentsPerCourse?: number;
  /** Includes the "Roll Call Attendance" assignment of odd-numbered courses. @default 40 */
  assignmentsPerCourse?: number;
  /** @default 2 */
  teachersPerCourse?: number;
  /** @default 1 */
  tasPerCourse?: number;
  /** Lifetime of OAuth access tokens (`expires_in`). @default 3600 */
  tokenTtlSeconds?: number;
  /** Leaky-bucket settings, or `false` to disable throttling (headers are still sent). */
  throttle?: false | Partial<ThrottleSettings>;
  /** 429 (Canvas since Oct 2025) or the legacy 403 "403 Forbidden (Rate Limit Exceeded)". @default 429 */
  throttleStatus?: 429 | 403;
  /** 403 (flag `api_auth_error_updates`) or the legacy 401 for "user not authorized". @default 403 */
  permissionErrorStatus?: 403 | 401;
  /** Faults applied to every API request from the start: `"5xx:0.03,drop:0.01"` or rules. */
  faults?: string | FaultRule[];
  /** The analytics plugin's `service_enabled?(:analytics)`. @default true */
  analyticsEnabled?: boolean;
  /**
   * Start of the simulated clock (epoch ms). By default the clock follows the wall clock, so tokens it
   * mints expire when a client on the real clock expects them to. @default Date.now()
   */
  now?: number;
  /**
   * The instant data are generated relative to (term dates, activity, due dates): fixed by default so a
   * seed gives the same data on any day. @default `now` when given, else 2026-10-15T12:00:00Z
   */
  dataEpoch?: number;
  /**
   * Users who are account admins besides user 1 (the functional admin): they may read every user and
   * manage everyone's access tokens. @default []
   */
  admins?: number[];
  /** When true, simulated time moves only through `advanceClock`. @default false */
  freezeClock?: boolean;
  /** Approve `GET /login/oauth2/auth` without showing the consent page (as `?auto=1` does). @default false */
  autoApprove?: boolean;
  /**
   * Redirect URI registered for the confidential and public clients (same scheme and host, any port or
   * path, matches). @default "http://127.0.0.1/oauth/callback" (localhost and [::1] are registered too)
   */
  redirectUri?: string;
  /** Simulated seconds an update_grades job spends queued and then running. @default 0.5 */
  jobSeconds?: number;
}

export interface NormalizedOptions {
  port: number;
  host: string;
  seed: number;
  courses: number;
  studentsPerCourse: number;
  assignmentsPerCourse: number;
  teachersPerCourse: number;
  tasPerCourse: number;
  tokenTtlSeconds: number;
  throttleEnabled: boolean;
  throttle: ThrottleSettings;
  throttleStatus: 429 | 403;
  permissionErrorStatus: 403 | 401;
  faults: FaultRule[];
  analyticsEnabled: boolean;
  now: number;
  dataEpoch: number;
  admins: number[];
  freezeClock: boolean;
  autoApprove: boolean;
  redirectUri: string;
  jobSeconds: number;
}

/** The default data epoch (data are generated relative to it); the clock itself follows the wall clock. */
export const DEFAULT_NOW = Date.UTC(2026, 9, 15, 12, 0, 0);

export const DEFAULT_THROTTLE: Readonly<ThrottleSettings> = Object.freeze({
  hwm: 600,
  maximum: 800,
  outflowPerSecond: 10,
  upFrontCost: 50,
  costPerRequest: 0.01,
  costPerRow: 0,
  oauthTokenCost: 200,
});

function integer(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalidArg(name, value, `must be an integer from ${min} to ${max}`);
  }
  return value;
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalidArg(name, value, "must be a finite number >= 0");
  }
  return value;
}

function boolean(name: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalidArg(name, value, "must be a boolean");
  return value;
}

/** Validates options once; nothing is re-checked on the request path. */
export function normalizeOptions(options: CanvasSimOptions = {}): NormalizedOptions {
  if (options === null || typeof options !== "object")
    throw invalidArg("options", options, "must be an object");
  const courses = integer("courses", options.courses, 5, 1, 100_000);
  const studentsPerCourse = integer("studentsPerCourse", options.studentsPerCourse, 200, 1, 1_000_000);
  const assignmentsPerCourse = integer("assignmentsPerCourse", options.assignmentsPerCourse, 40, 1, 10_000);
  const teachersPerCourse = integer("teachersPerCourse", options.teachersPerCourse, 2, 1, 100);
  const tasPerCourse = integer("tasPerCourse", options.tasPerCourse, 1, 0, 100);
  // Ids stay far below 2^53 and submission ids below 2^31 for the int math of the generator.
  if (courses * studentsPerCourse * assignmentsPerCourse > 2_000_000_000) {
    throw invalidArg(
      "courses",
      courses,
      "times studentsPerCourse times assignmentsPerCourse must stay <= 2e9",
    );
  }
  const throttleOption = options.throttle;
  let throttle: ThrottleSettings = { ...DEFAULT_THROTTLE };
  if (throttleOption !== undefined && throttleOption !== false) {
    if (throttleOption === null || typeof throttleOption !== "object") {
      throw invalidArg("throttle", throttleOption, "must be false or an object of ThrottleSettings");
    }
    throttle = {
      hwm: nonNegative("throttle.hwm", throttleOption.hwm, DEFAULT_THROTTLE.hwm),
      maximum: nonNegative("throttle.maximum", throttleOption.maximum, DEFAULT_THROTTLE.maximum),
      outflowPerSecond: nonNegative(
        "throttle.outflowPerSecond",
        throttleOption.outflowPerSecond,
        DEFAULT_THROTTLE.outflowPerSecond,
      ),
      upFrontCost: nonNegative(
        "throttle.upFrontCost",
        throttleOption.upFrontCost,
        DEFAULT_THROTTLE.upFrontCost,
      ),
      costPerRequest: nonNegative(
        "throttle.costPerRequest",
        throttleOption.costPerRequest,
        DEFAULT_THROTTLE.costPerRequest,
      ),
      costPerRow: nonNegative("throttle.costPerRow", throttleOption.costPerRow, DEFAULT_THROTTLE.costPerRow),
      oauthTokenCost: nonNegative(
        "throttle.oauthTokenCost",
        throttleOption.oauthTokenCost,
        DEFAULT_THROTTLE.oauthTokenCost,
      ),
    };
    if (throttle.maximum < throttle.hwm) {
      throw invalidArg("throttle.maximum", throttle.maximum, "must be >= throttle.hwm");
    }
  }
  const throttleStatus = options.throttleStatus ?? 429;
  if (throttleStatus !== 429 && throttleStatus !== 403) {
    throw invalidArg("throttleStatus", throttleStatus, "must be 429 or 403");
  }
  const permissionErrorStatus = options.permissionErrorStatus ?? 403;
  if (permissionErrorStatus !== 403 && permissionErrorStatus !== 401) {
    throw invalidArg("permissionErrorStatus", permissionErrorStatus, "must be 403 or 401");
  }
  let faults: FaultRule[] = [];
  if (typeof options.faults === "string") faults = parseFaultSpec(options.faults);
  else if (Array.isArray(options.faults)) faults = options.faults;
  else if (options.faults !== undefined) {
    throw invalidArg("faults", options.faults, "must be a spec string or an array of FaultRule");
  }
  const host = options.host ?? "127.0.0.1";
  if (typeof host !== "string" || host === "") throw invalidArg("host", host, "must be a non-empty string");
  const now = options.now ?? Date.now();
  if (typeof now !== "number" || !Number.isFinite(now))
    throw invalidArg("now", now, "must be epoch milliseconds");
  const dataEpoch = options.dataEpoch ?? options.now ?? DEFAULT_NOW;
  if (typeof dataEpoch !== "number" || !Number.isFinite(dataEpoch))
    throw invalidArg("dataEpoch", dataEpoch, "must be epoch milliseconds");
  const admins = options.admins ?? [];
  if (!Array.isArray(admins) || !admins.every((id) => Number.isInteger(id) && id > 0))
    throw invalidArg("admins", admins, "must be an array of user ids");
  const redirectUri = options.redirectUri ?? "http://127.0.0.1/oauth/callback";
  try {
    new URL(redirectUri);
  } catch (error) {
    throw Object.assign(invalidArg("redirectUri", redirectUri, "must be an absolute URL"), { cause: error });
  }
  const seed = options.seed ?? 1;
  if (typeof seed !== "number" || !Number.isInteger(seed))
    throw invalidArg("seed", seed, "must be an integer");
  return {
    port: integer("port", options.port, 0, 0, 65535),
    host,
    seed: seed >>> 0,
    courses,
    studentsPerCourse,
    assignmentsPerCourse,
    teachersPerCourse,
    tasPerCourse,
    tokenTtlSeconds: integer("tokenTtlSeconds", options.tokenTtlSeconds, 3600, 1, 10 * 365 * 86400),
    throttleEnabled: throttleOption !== false,
    throttle,
    throttleStatus,
    permissionErrorStatus,
    faults,
    analyticsEnabled: boolean("analyticsEnabled", options.analyticsEnabled, true),
    now,
    dataEpoch,
    admins: [...admins],
    freezeClock: boolean("freezeClock", options.freezeClock, false),
    autoApprove: boolean("autoApprove", options.autoApprove, false),
    redirectUri,
    jobSeconds: nonNegative("jobSeconds", options.jobSeconds, 0.5),
  };
}
