import { describe, expect, it } from "vitest";
import {
  CanvasApiError,
  CanvasBadRequestError,
  CanvasForbiddenError,
  CanvasNetworkError,
  CanvasNotFoundError,
  CanvasRateLimitError,
  CanvasResponseError,
  CanvasServerError,
  CanvasTimeoutError,
  CanvasUnauthorizedError,
} from "../src/index.js";
import {
  type AttemptState,
  classifyTransportError,
  type Decision,
  decide,
  type HeaderValues,
  type NoAnswer,
  type Outcome,
  type PolicyContext,
  parseRetryAfter,
} from "../src/response-policy.js";

const NOW = Date.parse("2026-03-01T12:00:00Z");
// random() = 0.5: the equal-jitter backoff of attempt n is 0.75 x min(maxDelayMs, 100 x 2^(n-1)).
const ctx = (over: Partial<PolicyContext> = {}): PolicyContext => ({
  method: "GET",
  path: "/api/v1/courses/1/enrollments",
  idempotent: true,
  budget: { retries: 3, minDelayMs: 100, maxDelayMs: 1000, rateLimitRetries: 2 },
  pacing: true,
  timeoutMs: 5000,
  now: NOW,
  random: () => 0.5,
  ...over,
});
const state = (over: Partial<AttemptState> = {}): AttemptState => ({
  attempt: 1,
  transient: 0,
  throttles: 0,
  refreshed: false,
  ...over,
});
const answer = (status: number, text = "", headers: HeaderValues = {}): Outcome => ({
  kind: "answer",
  status,
  headers,
  text,
});
const noAnswer = (over: Partial<NoAnswer> = {}): Outcome => ({
  kind: "no-answer",
  failure: "network",
  code: "ECONNRESET",
  closed: false,
  neverSent: false,
  cause: new Error("socket hang up"),
  ...over,
});
const POST = { method: "POST", idempotent: false };
const NO_PACING = { pacing: false };

type Expected =
  | { action: "accept"; data: unknown }
  | { action: "retry"; delayMs: number; reason: string }
  | { action: "throttle-wait"; delayMs: number; pacerDelayMs: number }
  | { action: "refresh-then-retry" }
  | { action: "fail"; error: new (...args: never[]) => Error; code: string; pacerDelayMs?: number };

function summary(decision: Decision): Record<string, unknown> {
  switch (decision.action) {
    case "accept":
      return { action: "accept", data: decision.response.data };
    case "retry":
      return { action: "retry", delayMs: decision.delayMs, reason: decision.reason };
    case "throttle-wait":
      return {
        action: "throttle-wait",
        delayMs: decision.delayMs,
        pacerDelayMs: decision.throttle.pacerDelayMs,
      };
    case "refresh-then-retry":
      return { action: "refresh-then-retry" };
    case "fail":
      return {
        action: "fail",
        error: decision.error.constructor,
        code: (decision.error as { code?: string }).code,
        ...(decision.throttle ? { pacerDelayMs: decision.throttle.pacerDelayMs } : {}),
      };
  }
}

const cases: Array<[string, Partial<PolicyContext>, Partial<AttemptState>, Outcome, Expected]> = [
  ["200 with JSON is accepted", {}, {}, answer(200, '{"id":1}'), { action: "accept", data: { id: 1 } }],
  [
    "200 with a while(1); prefix is accepted",
    {},
    {},
    answer(200, "while(1);[1,2]"),
    { action: "accept", data: [1, 2] },
  ],
  ["204 is accepted with no data", {}, {}, answer(204), { action: "accept", data: undefined }],
  [
    "HEAD is accepted without reading a body",
    { method: "HEAD" },
    {},
    answer(200, "x"),
    { action: "accept", data: undefined },
  ],
  [
    "200 with a cut-short body is retried",
    {},
    {},
    answer(200, '[{"id":'),
    { action: "retry", delayMs: 75, reason: "malformed JSON" },
  ],
  [
    "200 with a bad body and no budget left is MALFORMED_RESPONSE",
    {},
    { transient: 3 },
    answer(200, "<html>"),
    { action: "fail", error: CanvasResponseError, code: "MALFORMED_RESPONSE" },
  ],
  [
    "200 with a bad body on a POST is not replayed",
    POST,
    {},
    answer(200, "<html>"),
    { action: "fail", error: CanvasResponseError, code: "MALFORMED_RESPONSE" },
  ],
  [
    "503 on a GET is retried with backoff",
    {},
    {},
    answer(503),
    { action: "retry", delayMs: 75, reason: "server error" },
  ],
  [
    "the third 500 waits 4x the first",
    {},
    { transient: 2 },
    answer(500),
    { action: "retry", delayMs: 300, reason: "server error" },
  ],
  [
    "backoff is capped at maxDelayMs",
    { budget: { retries: 10, minDelayMs: 100, maxDelayMs: 1000, rateLimitRetries: 2 } },
    { transient: 5 },
    answer(500),
    { action: "retry", delayMs: 750, reason: "server error" },
  ],
  [
    "a longer Retry-After on a 503 wins over the backoff",
    {},
    {},
    answer(503, "", { "retry-after": "0.5" }),
    { action: "retry", delayMs: 500, reason: "server error" },
  ],
  [
    "Retry-After is capped at maxDelayMs",
    {},
    {},
    answer(503, "", { "retry-after": "120" }),
    { action: "retry", delayMs: 1000, reason: "server error" },
  ],
  [
    "503 after the last retry is UPSTREAM_UNAVAILABLE",
    {},
    { transient: 3 },
    answer(503),
    { action: "fail", error: CanvasServerError, code: "UPSTREAM_UNAVAILABLE" },
  ],
  [
    "503 on a POST is not replayed",
    POST,
    {},
    answer(503),
    { action: "fail", error: CanvasServerError, code: "UPSTREAM_UNAVAILABLE" },
  ],
  [
    "a first 429 with pacing waits for the pacer alone",
    {},
    {},
    answer(429),
    { action: "throttle-wait", delayMs: 0, pacerDelayMs: 0 },
  ],
  [
    "a repeated 429 with pacing holds the pacer for the backoff",
    {},
    { throttles: 1 },
    answer(429),
    { action: "throttle-wait", delayMs: 0, pacerDelayMs: 150 },
  ],
  [
    "a 429 with Retry-After holds the pacer at once",
    {},
    {},
    answer(429, "", { "retry-after": "0.4" }),
    { action: "throttle-wait", delayMs: 0, pacerDelayMs: 400 },
  ],
  [
    "a 429 without pacing waits the backoff itself",
    NO_PACING,
    {},
    answer(429),
    { action: "throttle-wait", delayMs: 75, pacerDelayMs: 0 },
  ],
  [
    "a 429 on a POST is re-sent (Canvas refused it before running it)",
    { ...POST, ...NO_PACING },
    { transient: 3 },
    answer(429),
    { action: "throttle-wait", delayMs: 75, pacerDelayMs: 0 },
  ],
  [
    "403 Rate Limit Exceeded is a throttle",
    NO_PACING,
    { throttles: 1 },
    answer(403, "403 Forbidden (Rate Limit Exceeded)"),
    { action: "throttle-wait", delayMs: 150, pacerDelayMs: 150 },
  ],
  [
    "a throttle beyond rateLimitRetries is RATE_LIMITED",
    {},
    { throttles: 2 },
    answer(429),
    { action: "fail", error: CanvasRateLimitError, code: "RATE_LIMITED", pacerDelayMs: 0 },
  ],
  [
    "401 with WWW-Authenticate asks for a fresh token",
    {},
    {},
    answer(401, "", { "www-authenticate": 'Bearer realm="canvas-lms"' }),
    { action: "refresh-then-retry" },
  ],
  [
    "401 again after a refresh is REAUTH_REQUIRED",
    {},
    { refreshed: true },
    answer(401, "", { "www-authenticate": 'Bearer realm="canvas-lms"' }),
    { action: "fail", error: CanvasUnauthorizedError, code: "REAUTH_REQUIRED" },
  ],
  [
    "401 without WWW-Authenticate is a permission problem",
    {},
    {},
    answer(401, '{"status":"unauthorized"}'),
    { action: "fail", error: CanvasForbiddenError, code: "CANVAS_FORBIDDEN" },
  ],
  [
    "403 not authorized is CANVAS_FORBIDDEN",
    {},
    {},
    answer(
      403,
      '{"status":"unauthorized","errors":[{"message":"user not authorized to perform that action"}]}',
    ),
    { action: "fail", error: CanvasForbiddenError, code: "CANVAS_FORBIDDEN" },
  ],
  [
    "404 is CANVAS_NOT_FOUND",
    {},
    {},
    answer(404),
    { action: "fail", error: CanvasNotFoundError, code: "CANVAS_NOT_FOUND" },
  ],
  [
    "400 is CANVAS_BAD_REQUEST",
    {},
    {},
    answer(400),
    { action: "fail", error: CanvasBadRequestError, code: "CANVAS_BAD_REQUEST" },
  ],
  [
    "422 is CANVAS_BAD_REQUEST",
    {},
    {},
    answer(422),
    { action: "fail", error: CanvasBadRequestError, code: "CANVAS_BAD_REQUEST" },
  ],
  [
    "409 is CANVAS_API_ERROR",
    {},
    {},
    answer(409),
    { action: "fail", error: CanvasApiError, code: "CANVAS_API_ERROR" },
  ],
  ["a reset GET is retried", {}, {}, noAnswer(), { action: "retry", delayMs: 75, reason: "ECONNRESET" }],
  [
    "a timed-out GET is retried",
    {},
    { transient: 1 },
    noAnswer({ failure: "timeout", code: "UND_ERR_HEADERS_TIMEOUT" }),
    { action: "retry", delayMs: 150, reason: "timeout" },
  ],
  [
    "a refused POST is re-sent: it never reached Canvas",
    POST,
    {},
    noAnswer({ code: "ECONNREFUSED", neverSent: true }),
    { action: "retry", delayMs: 75, reason: "ECONNREFUSED" },
  ],
  [
    "a reset POST is not replayed",
    POST,
    {},
    noAnswer(),
    { action: "fail", error: CanvasNetworkError, code: "NETWORK" },
  ],
  [
    "a closed client is not retried",
    {},
    {},
    noAnswer({ code: "UND_ERR_CLOSED", closed: true }),
    { action: "fail", error: CanvasNetworkError, code: "NETWORK" },
  ],
  [
    "a timeout after the last retry is TIMEOUT",
    {},
    { transient: 3 },
    noAnswer({ failure: "timeout" }),
    { action: "fail", error: CanvasTimeoutError, code: "TIMEOUT" },
  ],
];

describe("response policy", () => {
  it.each(cases)("%s", (_title, context, before, outcome, expected) => {
    expect(summary(decide(ctx(context), state(before), outcome))).toEqual(expected);
  });

  it("errors carry method, path, status, attempts and request id, never the body", () => {
    const decision = decide(
      ctx(),
      state({ attempt: 4, transient: 3 }),
      answer(503, '{"errors":[{"message":"maintenance"}],"student":"Ada Lovelace"}', {
        "x-request-context-id": "req-1",
      }),
    );
    expect(decision.action).toBe("fail");
    const error = (decision as { error: CanvasServerError }).error;
    expect(error).toMatchObject({
      method: "GET",
      path: "/api/v1/courses/1/enrollments",
      status: 503,
      attempts: 4,
      requestId: "req-1",
      canvasMessages: ["maintenance"],
      maybeApplied: false,
    });
    expect(error.message).not.toContain("Ada");
  });

  it("a failure without an answer says whether a POST may have been applied", () => {
    const reset = decide(ctx(POST), state(), noAnswer());
    const refused = decide(
      ctx(POST),
      state({ transient: 3 }),
      noAnswer({ code: "ECONNREFUSED", neverSent: true }),
    );
    expect((reset as { error: CanvasNetworkError }).error.maybeApplied).toBe(true);
    expect((refused as { error: CanvasNetworkError }).error.maybeApplied).toBe(false);
  });

  it("the token provider handing back the rejected token is REAUTH_REQUIRED", () => {
    const decision = decide(ctx(), state(), answer(401, "", { "www-authenticate": "Bearer" }));
    expect(decision.action).toBe("refresh-then-retry");
    const error = (decision as { sameTokenError: CanvasUnauthorizedError }).sameTokenError;
    expect(error.code).toBe("REAUTH_REQUIRED");
    expect(error.message).toContain("returned the rejected token");
  });

  it.each([
    ["delta-seconds", "3", 3000],
    ["fractional seconds", "1.5", 1500],
    ["an HTTP date, from the clock's now", "Sun, 01 Mar 2026 12:00:10 GMT", 10_000],
    ["a date in the past", "Sun, 01 Mar 2026 11:59:00 GMT", 0],
    ["garbage", "soon", undefined],
    ["absent", undefined, undefined],
  ])("parseRetryAfter reads %s", (_title, value, ms) => {
    expect(parseRetryAfter(value, NOW)).toBe(ms);
  });

  it.each([
    ["ECONNRESET", false, false, { failure: "network", closed: false, neverSent: false }],
    ["ECONNREFUSED", false, false, { failure: "network", closed: false, neverSent: true }],
    ["UND_ERR_CONNECT_TIMEOUT", false, false, { failure: "timeout", closed: false, neverSent: true }],
    ["UND_ERR_HEADERS_TIMEOUT", false, false, { failure: "timeout", closed: false, neverSent: false }],
    ["UND_ERR_CLOSED", false, false, { failure: "network", closed: true, neverSent: false }],
    ["ECONNRESET", false, true, { failure: "network", closed: true, neverSent: false }],
    ["UND_ERR_ABORTED", true, false, { failure: "timeout", closed: false, neverSent: false }],
  ] as const)(
    "classifies transport error %s (timed out %s, closed %s)",
    (code, timedOut, closed, expected) => {
      const error = Object.assign(new Error("x"), { code });
      expect(classifyTransportError(error, timedOut, closed)).toMatchObject({
        kind: "no-answer",
        code,
        ...expected,
      });
    },
  );

  it.each([
    ["an error without a code", new TypeError("bad")],
    ["an invalid argument", Object.assign(new Error("bad"), { code: "UND_ERR_INVALID_ARG" })],
  ])("%s is not a transport failure", (_title, error) => {
    expect(classifyTransportError(error, false, false)).toBeUndefined();
  });
});
