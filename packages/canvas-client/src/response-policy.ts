import { backoffDelay } from "@easel/clock";
import {
  CANVAS_API_ERROR,
  CanvasApiError,
  CanvasBadRequestError,
  type CanvasErrorDetails,
  CanvasForbiddenError,
  CanvasNetworkError,
  CanvasNotFoundError,
  CanvasRateLimitError,
  CanvasResponseError,
  CanvasServerError,
  CanvasTimeoutError,
  CanvasUnauthorizedError,
} from "./errors.js";
import type { RetryOptions } from "./options.js";

/**
 * What to do with the outcome of one attempt, decided without I/O: the client's request loop
 * feeds it every answer and every failure to get one, and applies the decision (wait, refresh,
 * re-send, or raise). Time and randomness come in as inputs, so the same input always gives
 * the same decision.
 */

export type HeaderValues = Record<string, string | string[] | undefined>;

/** Where the request stands before this attempt's outcome is counted. */
export interface AttemptState {
  /** This attempt's number, 1 for the first. */
  readonly attempt: number;
  /** Re-sends so far after a 5xx, a failure without an answer or a malformed body. */
  readonly transient: number;
  /** Throttled answers so far. */
  readonly throttles: number;
  /** Whether the token provider already supplied a fresh token after a 401. */
  readonly refreshed: boolean;
}

export interface PolicyContext {
  readonly method: string;
  /** Redacted path, as errors show it. */
  readonly path: string;
  /** Whether the request may be replayed after it may have reached Canvas. */
  readonly idempotent: boolean;
  readonly budget: Required<RetryOptions>;
  /** Adaptive pacing on: the pacer, not this request, waits out a throttle. */
  readonly pacing: boolean;
  readonly timeoutMs: number;
  /** The clock's time, for an HTTP-date `Retry-After`. */
  readonly now: number;
  /** Jitter source in [0, 1). */
  readonly random: () => number;
}

/** Canvas answered (any status). */
export interface Answer {
  readonly kind: "answer";
  readonly status: number;
  readonly headers: HeaderValues;
  readonly text: string;
}

/** No (complete) answer: the connection failed or the attempt timed out. */
export interface NoAnswer {
  readonly kind: "no-answer";
  readonly failure: "timeout" | "network";
  /** The transport's error code, e.g. `ECONNRESET`. */
  readonly code: string | undefined;
  /** The pool or the client was closed: re-sending cannot help. */
  readonly closed: boolean;
  /** The request surely never reached Canvas (refused, unresolvable): always safe to re-send. */
  readonly neverSent: boolean;
  readonly cause: unknown;
}

export type Outcome = Answer | NoAnswer;

/** An accepted answer, body parsed (undefined when empty). */
export interface RawResponse {
  status: number;
  headers: HeaderValues;
  data: unknown;
}

/** For a throttled answer: the extra pause every request start takes (pacing on). */
export interface ThrottleFeedback {
  readonly pacerDelayMs: number;
}

export type Decision =
  | { readonly action: "accept"; readonly response: RawResponse }
  | {
      /** Counts against `retries`. */
      readonly action: "retry";
      readonly delayMs: number;
      readonly reason: string;
    }
  | {
      /** Counts against `rateLimitRetries`. */
      readonly action: "throttle-wait";
      readonly delayMs: number;
      readonly throttle: ThrottleFeedback;
    }
  | {
      /** Ask the token provider for a fresh token, then re-send with it. */
      readonly action: "refresh-then-retry";
      /** Raise this if the provider hands back the token Canvas rejected. */
      readonly sameTokenError: CanvasUnauthorizedError;
    }
  | { readonly action: "fail"; readonly error: CanvasApiError; readonly throttle?: ThrottleFeedback };

// Errors raised before the request could reach Canvas: replaying them is always safe.
const NEVER_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);
const CLOSED_CODES = new Set(["UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

/** A header as one string: undici lower-cases names; repeated headers arrive as arrays. */
export function header(headers: HeaderValues, name: string): string | undefined {
  const value = headers[name];
  if (Array.isArray(value)) return value.join(",");
  return value;
}

export function headerNumber(headers: HeaderValues, name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? n : undefined;
}

export function requestIdOf(headers: HeaderValues): string | undefined {
  return header(headers, "x-request-context-id") ?? header(headers, "x-request-id");
}

/**
 * `Retry-After` as milliseconds (delta-seconds or an HTTP date, measured from `now`), or undefined.
 * @see https://www.rfc-editor.org/rfc/rfc9110#field.retry-after
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** 429, or the older 403 "Rate Limit Exceeded" dialect. */
export function isThrottled(status: number, text: string): boolean {
  return status === 429 || (status === 403 && /rate limit exceeded/i.test(text));
}

/**
 * A failed `pool.request` as a `NoAnswer`, or undefined when it is not a transport failure
 * (a bad argument, a bug), which the client surfaces as is.
 */
export function classifyTransportError(
  error: unknown,
  timedOut: boolean,
  clientClosed: boolean,
): NoAnswer | undefined {
  const raw = (error as { code?: unknown } | null)?.code;
  const code = typeof raw === "string" ? raw : undefined;
  if (!timedOut && (code === undefined || code === "UND_ERR_INVALID_ARG")) return undefined;
  return {
    kind: "no-answer",
    failure: timedOut || TIMEOUT_CODES.has(code ?? "") ? "timeout" : "network",
    code,
    closed: CLOSED_CODES.has(code ?? "") || clientClosed,
    neverSent: NEVER_SENT_CODES.has(code ?? ""),
    cause: error,
  };
}

export function parseJson(text: string): unknown {
  // Canvas prefixes JSON with `while(1);` for session-authenticated GETs (JSON hijacking guard).
  const body = text.startsWith("while(1);") ? text.slice(9) : text;
  return JSON.parse(body);
}

/** Messages from Canvas's error shapes; never the raw body. */
export function canvasMessagesOf(data: unknown): string[] {
  const out: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length > 0 && out.length < 10) out.push(value.slice(0, 500));
  };
  const fromErrors = (errors: unknown) => {
    if (typeof errors === "string") add(errors);
    else if (Array.isArray(errors)) {
      for (const e of errors)
        typeof e === "string" ? add(e) : add((e as { message?: unknown } | null)?.message);
    } else if (typeof errors === "object" && errors !== null) {
      for (const value of Object.values(errors)) {
        if (Array.isArray(value)) fromErrors(value);
        else if (typeof value === "object" && value !== null) add((value as { message?: unknown }).message);
        else add(value);
      }
    }
  };
  if (Array.isArray(data)) fromErrors(data);
  else if (typeof data === "object" && data !== null) {
    const body = data as { errors?: unknown; message?: unknown; error?: unknown };
    fromErrors(body.errors);
    add(body.message);
    add(body.error);
  }
  return out;
}

function backoff(ctx: PolicyContext, attempt: number): number {
  const { minDelayMs, maxDelayMs } = ctx.budget;
  return backoffDelay(attempt, { baseMs: minDelayMs, maxMs: maxDelayMs, random: ctx.random });
}

/** The backoff, or a `Retry-After` (capped at `maxDelayMs`) when that is longer. */
function backoffOrRetryAfter(ctx: PolicyContext, attempt: number, headers: HeaderValues): number {
  const retryAfter = parseRetryAfter(header(headers, "retry-after"), ctx.now);
  return Math.max(backoff(ctx, attempt), Math.min(retryAfter ?? 0, ctx.budget.maxDelayMs));
}

/** The decision for one attempt's outcome. */
export function decide(ctx: PolicyContext, state: AttemptState, outcome: Outcome): Decision {
  return outcome.kind === "no-answer"
    ? decideNoAnswer(ctx, state, outcome)
    : decideAnswer(ctx, state, outcome);
}

function decideNoAnswer(ctx: PolicyContext, state: AttemptState, outcome: NoAnswer): Decision {
  const { idempotent, method, path } = ctx;
  const isTimeout = outcome.failure === "timeout";
  if (!outcome.closed && (idempotent || outcome.neverSent) && state.transient < ctx.budget.retries) {
    return {
      action: "retry",
      delayMs: backoff(ctx, state.transient + 1),
      reason: isTimeout ? "timeout" : (outcome.code ?? "network"),
    };
  }
  const details: CanvasErrorDetails = {
    method,
    path,
    cause: outcome.cause,
    attempts: state.attempt,
    maybeApplied: !idempotent && !outcome.neverSent,
  };
  if (isTimeout) {
    return {
      action: "fail",
      error: new CanvasTimeoutError(
        `Canvas ${method} ${path} got no complete answer within ${ctx.timeoutMs} ms`,
        details,
      ),
    };
  }
  const why = outcome.closed ? "client closed" : (outcome.code ?? "network error");
  return {
    action: "fail",
    error: new CanvasNetworkError(`Canvas ${method} ${path} failed without an answer (${why})`, details),
  };
}

function decideAnswer(ctx: PolicyContext, state: AttemptState, answer: Answer): Decision {
  const { method, path, idempotent, budget } = ctx;
  const { status, headers, text } = answer;
  const requestId = requestIdOf(headers);

  if (status >= 200 && status < 300) {
    if (text.length === 0 || status === 204 || method === "HEAD")
      return { action: "accept", response: { status, headers, data: undefined } };
    try {
      return { action: "accept", response: { status, headers, data: parseJson(text) } };
    } catch (cause) {
      // Usually a body cut short (connection dropped mid-body without a length check).
      if (idempotent && state.transient < budget.retries) {
        return { action: "retry", delayMs: backoff(ctx, state.transient + 1), reason: "malformed JSON" };
      }
      return {
        action: "fail",
        error: new CanvasResponseError(
          `Canvas ${method} ${path} answered ${status} with a body that is not JSON`,
          {
            method,
            path,
            status,
            requestId,
            attempts: state.attempt,
            cause: cause instanceof Error ? new SyntaxError(cause.message.slice(0, 120)) : undefined,
          },
        ),
      };
    }
  }

  let data: unknown;
  try {
    data = text.length > 0 ? parseJson(text) : undefined;
  } catch {
    data = undefined;
  }
  const details: CanvasErrorDetails = {
    method,
    path,
    status,
    requestId,
    attempts: state.attempt,
    canvasMessages: canvasMessagesOf(data),
  };
  const describe = (code: string) => {
    const messages = details.canvasMessages?.length ? `: ${details.canvasMessages.join("; ")}` : "";
    return `Canvas ${method} ${path} answered ${status} (${code})${messages}`;
  };

  if (isThrottled(status, text)) {
    const throttles = state.throttles + 1;
    const retryAfter = parseRetryAfter(header(headers, "retry-after"), ctx.now);
    const delayMs = backoffOrRetryAfter(ctx, throttles, headers);
    const withinBudget = throttles <= budget.rateLimitRetries;
    // With pacing on, the pacer holds EVERY request until the bucket has room again; the first
    // throttle needs no extra delay, repeated ones (or a Retry-After) add the backoff.
    const again = throttles > 1 || retryAfter !== undefined;
    const throttle = { pacerDelayMs: again && withinBudget ? delayMs : 0 };
    if (!withinBudget) {
      return { action: "fail", error: new CanvasRateLimitError(describe("RATE_LIMITED"), details), throttle };
    }
    return { action: "throttle-wait", delayMs: ctx.pacing ? 0 : delayMs, throttle };
  }

  if (status === 401) {
    if (header(headers, "www-authenticate") === undefined) {
      // Older Canvas / insufficient scopes: a permission problem, which a refresh cannot fix.
      return { action: "fail", error: new CanvasForbiddenError(describe("CANVAS_FORBIDDEN"), details) };
    }
    if (state.refreshed) {
      return {
        action: "fail",
        error: new CanvasUnauthorizedError(
          `${describe("REAUTH_REQUIRED")} (again, after the token provider supplied a fresh token)`,
          details,
        ),
      };
    }
    return {
      action: "refresh-then-retry",
      sameTokenError: new CanvasUnauthorizedError(
        `${describe("REAUTH_REQUIRED")} (the token provider returned the rejected token)`,
        details,
      ),
    };
  }
  if (status === 403)
    return { action: "fail", error: new CanvasForbiddenError(describe("CANVAS_FORBIDDEN"), details) };
  if (status === 404)
    return { action: "fail", error: new CanvasNotFoundError(describe("CANVAS_NOT_FOUND"), details) };
  if (status === 400 || status === 422) {
    return { action: "fail", error: new CanvasBadRequestError(describe("CANVAS_BAD_REQUEST"), details) };
  }
  if (status >= 500) {
    if (idempotent && state.transient < budget.retries) {
      return {
        action: "retry",
        delayMs: backoffOrRetryAfter(ctx, state.transient + 1, headers),
        reason: "server error",
      };
    }
    return {
      action: "fail",
      error: new CanvasServerError(describe("UPSTREAM_UNAVAILABLE"), {
        ...details,
        maybeApplied: !idempotent,
      }),
    };
  }
  return { action: "fail", error: new CanvasApiError(CANVAS_API_ERROR, describe(CANVAS_API_ERROR), details) };
}
