import type { TokenProvider } from "@easel/auth";
import { type Clock, systemClock } from "@easel/clock";
import type { RateLimitBudget } from "./budget.js";
import { type CanvasLogger, silentLogger } from "./logger.js";
import type { PacingSettings } from "./pacer.js";
import { staticTokenProvider } from "./static-token.js";

/** Retry policy for transient failures. */
export interface RetryOptions {
  /**
   * Re-sends after a 5xx, a dropped/reset connection, a timeout or a truncated body, for
   * idempotent requests only (GET, HEAD, PUT, DELETE; POST with `idempotent: true`).
   * @default 5
   */
  retries?: number;
  /** First backoff delay; doubles each attempt, with jitter. @default 500 */
  minDelayMs?: number;
  /** Backoff cap (also the cap for a `Retry-After` header). @default 30000 */
  maxDelayMs?: number;
  /**
   * Separate budget for throttled answers (429 / 403 "Rate Limit Exceeded"), so a busy bucket
   * does not eat the budget meant for server errors. Any request may be re-sent after a throttle:
   * Canvas refused it before running it.
   * @default 20
   */
  rateLimitRetries?: number;
}

/**
 * Adaptive pacing on Canvas's leaky bucket (`X-Rate-Limit-Remaining`, `X-Request-Cost`): the client
 * models the bucket and starts each request as soon as the bucket has room for it, so it runs near
 * the high-water mark without being refused. The defaults are Canvas's own settings.
 */
export interface PacingOptions {
  /** `false` turns adaptive pacing off (throttled requests are still retried). @default true */
  enabled?: boolean;
  /**
   * Units kept free beyond the up-front cost of the requests in flight and the next one. Larger
   * values trade speed for safety when other programs share the token's bucket unseen (each unit
   * costs `1 / leakPerSecond` seconds once per export, not per request).
   * @default 0.2
   */
  reserve?: number;
  /**
   * Optional extra cap: below this many units remaining, one request at a time. Not needed with
   * Canvas (the model lowers concurrency as the bucket fills); setting it only slows the client.
   * @default undefined (off)
   */
  serializeBelow?: number;
  /**
   * Optional extra floor: no request starts until the room the bucket would report, less the
   * requests in flight, is at least this. The model already waits until a request fits
   * (`upFrontCost + reserve`); a higher floor idles `(pauseBelow - upFrontCost) / leakPerSecond`
   * seconds longer per export.
   * @default undefined (off)
   */
  pauseBelow?: number;
  /** Canvas's outflow (`request_throttle.outflow`), units per second. @default 10 */
  leakPerSecond?: number;
  /** Units Canvas charges per request in flight (`up_front_cost`). @default 50 */
  upFrontCost?: number;
  /** Canvas's high-water mark (`hwm`): what a fresh bucket reports as remaining. @default 600 */
  bucketSize?: number;
  /**
   * A budget shared with every other process using the same token (e.g. `@easel/rate-limit-redis`):
   * Canvas's bucket is per token, so processes that each pace on their own answers overfill it
   * together. With a budget they pace on one view; if it is unreachable, this client paces on its
   * own view and logs one warning (code `RATE_LIMIT_BUDGET_UNAVAILABLE`).
   * @default undefined (this process's view only)
   */
  budget?: RateLimitBudget;
}

export interface CanvasClientOptions {
  /** Canvas root URL, e.g. `https://school.instructure.com`. `http://` is allowed but warned about unless loopback. */
  baseUrl: string | URL;
  /**
   * A `TokenProvider` (e.g. `@easel/auth`'s `TokenManager`) or a developer token string. With a
   * string, a 401 becomes `ReauthorizationRequiredError` (nothing to refresh).
   */
  auth: TokenProvider | string;
  /** `per_page` for list requests; Canvas caps it at 100, so larger values are clamped. @default 100 */
  perPage?: number;
  /** Most requests in flight at once (pacing may lower it). @default 8 */
  maxConcurrency?: number;
  /** Per attempt, headers and body included. @default 30000 */
  timeoutMs?: number;
  retry?: RetryOptions;
  /** `false` is short for `{ enabled: false }`. */
  pacing?: PacingOptions | false;
  /** A pino-compatible logger. Never receives tokens or response bodies. @default silent */
  logger?: CanvasLogger;
  /** @default "easel-canvas-client/<version>" */
  userAgent?: string;
  /** Longest request URL before `student_ids[]` lists are split further. @default 8000 */
  maxUrlLength?: number;
  /**
   * Where pacing and retry backoff read the time and wait (`ManualClock` from `@easel/clock` in
   * tests). Per-attempt timeouts stay on real timers: they bound real I/O.
   * @default systemClock
   */
  clock?: Clock;
}

export interface NormalizedOptions {
  baseUrl: URL;
  auth: TokenProvider;
  perPage: number;
  maxConcurrency: number;
  timeoutMs: number;
  retry: Required<RetryOptions>;
  pacing: PacingSettings;
  logger: CanvasLogger;
  userAgent: string;
  maxUrlLength: number;
  clock: Clock;
}

export const USER_AGENT = "easel-canvas-client/0.1.0";
/** Canvas's `MAX_PER_PAGE`. */
export const MAX_PER_PAGE = 100;

function invalid(option: string, expected: string, received: unknown, secret = false): TypeError {
  const shown = secret ? "(value hidden)" : describe(received);
  const error = new TypeError(`CanvasClient option "${option}" must be ${expected}; received ${shown}`);
  (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
  return error;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  if (typeof value === "function") return "a function";
  if (value === null) return "null";
  if (typeof value === "object") return Array.isArray(value) ? "an array" : "an object";
  return String(value);
}

function intOption(name: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(name, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function numberOption(name: string, value: unknown, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < min) {
    throw invalid(name, `a number >= ${min}`, value);
  }
  return value;
}

function optionalNumber(name: string, value: unknown, min: number): number | undefined {
  return value === undefined ? undefined : numberOption(name, value, 0, min);
}

function budgetOption(value: unknown): RateLimitBudget | undefined {
  if (value === undefined) return undefined;
  const budget = value as Partial<RateLimitBudget> | null;
  if (
    typeof budget !== "object" ||
    budget === null ||
    typeof budget.acquire !== "function" ||
    typeof budget.release !== "function"
  ) {
    throw invalid("pacing.budget", "a RateLimitBudget ({ acquire, release })", value);
  }
  return budget as RateLimitBudget;
}

function isLoopback(hostname: string): boolean {
  const host = hostname.replace(/^\[|\]$/g, "");
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function isTokenProvider(value: unknown): value is TokenProvider {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as TokenProvider).getAccessToken === "function" &&
    typeof (value as TokenProvider).handleUnauthorized === "function"
  );
}

/** Validates every option once; the hot path trusts the result. */
export function normalizeOptions(options: CanvasClientOptions): NormalizedOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "an object", options);

  let baseUrl: URL;
  try {
    baseUrl = new URL(String(options.baseUrl));
  } catch {
    throw invalid("baseUrl", "an absolute http(s) URL", options.baseUrl);
  }
  if (baseUrl.protocol !== "https:" && baseUrl.protocol !== "http:") {
    throw invalid("baseUrl", "an absolute http(s) URL", options.baseUrl);
  }
  if (baseUrl.username || baseUrl.password || baseUrl.search || baseUrl.hash) {
    throw invalid("baseUrl", "a URL without credentials, query or fragment", "(value hidden)", true);
  }
  baseUrl.pathname = baseUrl.pathname.replace(/\/+$/, "");

  let auth: TokenProvider;
  if (typeof options.auth === "string") {
    // Printable ASCII only: anything else would corrupt (or inject into) the Authorization header.
    if (options.auth.length === 0 || /[^\x21-\x7e]/.test(options.auth)) {
      throw invalid("auth", "a TokenProvider or a non-empty token without whitespace", options.auth, true);
    }
    auth = staticTokenProvider(options.auth);
  } else if (isTokenProvider(options.auth)) {
    auth = options.auth;
  } else {
    throw invalid(
      "auth",
      "a TokenProvider ({ getAccessToken, handleUnauthorized }) or a token string",
      options.auth,
    );
  }

  const logger = options.logger ?? silentLogger;
  for (const method of ["debug", "info", "warn", "error"] as const) {
    if (typeof (logger as unknown as Record<string, unknown>)[method] !== "function") {
      throw invalid("logger", "a pino-compatible logger with debug/info/warn/error", options.logger);
    }
  }

  const retry = options.retry ?? {};
  if (typeof retry !== "object" || retry === null) throw invalid("retry", "an object", retry);
  const minDelayMs = numberOption("retry.minDelayMs", retry.minDelayMs, 500, 0);
  const maxDelayMs = numberOption("retry.maxDelayMs", retry.maxDelayMs, Math.max(30_000, minDelayMs), 0);
  if (maxDelayMs < minDelayMs)
    throw invalid("retry.maxDelayMs", `>= retry.minDelayMs (${minDelayMs})`, maxDelayMs);

  const pacingInput: PacingOptions = options.pacing === false ? { enabled: false } : (options.pacing ?? {});
  if (typeof pacingInput !== "object" || pacingInput === null) {
    throw invalid("pacing", "an object or false", options.pacing);
  }
  if (pacingInput.enabled !== undefined && typeof pacingInput.enabled !== "boolean") {
    throw invalid("pacing.enabled", "a boolean", pacingInput.enabled);
  }
  const pacing: PacingSettings = {
    enabled: pacingInput.enabled ?? true,
    reserve: numberOption("pacing.reserve", pacingInput.reserve, 0.2, 0),
    serializeBelow: optionalNumber("pacing.serializeBelow", pacingInput.serializeBelow, 0),
    pauseBelow: optionalNumber("pacing.pauseBelow", pacingInput.pauseBelow, 0),
    leakPerSecond: numberOption("pacing.leakPerSecond", pacingInput.leakPerSecond, 10, 0.001),
    upFrontCost: numberOption("pacing.upFrontCost", pacingInput.upFrontCost, 50, 0),
    bucketSize: numberOption("pacing.bucketSize", pacingInput.bucketSize, 600, 1),
    budget: budgetOption(pacingInput.budget),
  };

  const clock = options.clock ?? systemClock;
  if (
    typeof clock !== "object" ||
    clock === null ||
    typeof clock.now !== "function" ||
    typeof clock.sleep !== "function"
  ) {
    throw invalid("clock", "a Clock ({ now, sleep })", options.clock);
  }

  const userAgent = options.userAgent ?? USER_AGENT;
  if (typeof userAgent !== "string" || userAgent.length === 0 || /[\r\n]/.test(userAgent)) {
    throw invalid("userAgent", "a non-empty single-line string", options.userAgent);
  }

  const normalized: NormalizedOptions = {
    baseUrl,
    auth,
    // Values above 100 are accepted and clamped: Canvas would clamp them anyway.
    perPage: Math.min(MAX_PER_PAGE, intOption("perPage", options.perPage, MAX_PER_PAGE, 1, 10_000)),
    maxConcurrency: intOption("maxConcurrency", options.maxConcurrency, 8, 1, 256),
    timeoutMs: intOption("timeoutMs", options.timeoutMs, 30_000, 1, 3_600_000),
    retry: {
      retries: intOption("retry.retries", retry.retries, 5, 0, 100),
      minDelayMs,
      maxDelayMs,
      rateLimitRetries: intOption("retry.rateLimitRetries", retry.rateLimitRetries, 20, 0, 1000),
    },
    pacing,
    logger,
    userAgent,
    maxUrlLength: intOption("maxUrlLength", options.maxUrlLength, 8000, 512, 1_000_000),
    clock,
  };

  if (baseUrl.protocol === "http:" && !isLoopback(baseUrl.hostname)) {
    logger.warn(
      { host: baseUrl.host },
      "Canvas base URL uses plain http:// on a non-loopback host: tokens travel unencrypted",
    );
  }
  return normalized;
}
