import type { CanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CanvasClient,
  CanvasForbiddenError,
  CanvasRateLimitError,
  type PacingOptions,
  RATE_LIMITED,
  type Submission,
} from "../src/index.js";
import { sendJson, startServer } from "./helpers/http-server.js";
import { startSim } from "./helpers/sim.js";

// A scaled-down Canvas bucket so a walk empties it within a second: the same shape as Canvas's
// 600 / 50 up front / 10 per second, leaking 40x faster.
const BUCKET = { hwm: 300, maximum: 400, upFrontCost: 25, outflowPerSecond: 400, costPerRequest: 10 };
const PACING: PacingOptions = {
  bucketSize: BUCKET.hwm,
  upFrontCost: BUCKET.upFrontCost,
  leakPerSecond: BUCKET.outflowPerSecond,
};
// Every answer, a refusal included, takes a round trip, as it does over a real network.
const ROUND_TRIP_MS = 20;
const ASSIGNMENTS = 8;
const STUDENTS = 250;
const PER_PAGE = 25;

interface Run {
  rows: number;
  seconds: number;
  throttled: number;
  simThrottled: number;
  requests: number;
  minimumSeconds: number;
}

describe("pacing on Canvas's leaky bucket", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({
      courses: 1,
      studentsPerCourse: STUDENTS,
      assignmentsPerCourse: ASSIGNMENTS,
      throttle: BUCKET,
    });
    sim.faults.add({ fault: "slow", latencyMs: ROUND_TRIP_MS });
  });
  afterAll(async () => {
    await sim.close();
  });

  /** Eight assignment walks at once (8 requests in flight) with a fresh token (a fresh bucket). */
  async function run(pacing: PacingOptions | false): Promise<Run> {
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "throttle test" });
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: token,
      perPage: PER_PAGE,
      maxConcurrency: 8,
      retry: { minDelayMs: 50, maxDelayMs: 1000, rateLimitRetries: 100 },
      pacing,
    });
    sim.resetStats();
    const started = performance.now();
    const assignments = sim.data.assignments(1).map((a) => a.id);
    const counts = await Promise.all(
      assignments.map(async (assignmentId) => {
        const seen = new Set<number>();
        for await (const s of canvas.submissions.forAssignment(
          1,
          assignmentId,
        ) as AsyncIterable<Submission>) {
          expect(seen.has(s.id)).toBe(false);
          seen.add(s.id);
        }
        return seen.size;
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const stats = canvas.stats();
    await canvas.close();
    const succeeded = stats.requests - stats.throttled;
    // The least time the bucket allows: the last request can start only once the cost of all the
    // others, less what a full bucket holds besides its up-front cost, has leaked.
    const cost = (succeeded - 1) * BUCKET.costPerRequest;
    const minimumSeconds = Math.max(0, cost - (BUCKET.hwm - BUCKET.upFrontCost)) / BUCKET.outflowPerSecond;
    return {
      rows: counts.reduce((a, b) => a + b, 0),
      seconds,
      throttled: stats.throttled,
      simThrottled: sim.stats().throttled,
      requests: stats.requests,
      minimumSeconds,
    };
  }

  it("with pacing: (almost) no refusals, close to the bucket-limited minimum time and no slower than without", async () => {
    const paced = await run(PACING);
    const unpaced = await run(false);
    console.log("paced", JSON.stringify(paced), "unpaced", JSON.stringify(unpaced));
    for (const r of [paced, unpaced]) expect(r.rows).toBe(STUDENTS * ASSIGNMENTS);
    expect(paced.throttled).toBe(paced.simThrottled);
    expect(paced.throttled).toBeLessThanOrEqual(2);
    expect(paced.requests).toBe(paced.throttled + (STUDENTS / PER_PAGE) * ASSIGNMENTS);
    // The bucket, not idling, sets the pace: ~1.29 s of leak here (plus one round trip).
    expect(paced.minimumSeconds).toBeGreaterThan(1);
    expect(paced.seconds).toBeLessThan(paced.minimumSeconds * 1.15 + 0.1);
    // Both end at the bucket's floor (refusals cost no units), so allow the timer noise of a busy box.
    expect(paced.seconds).toBeLessThanOrEqual(unpaced.seconds + 0.05);
    expect(unpaced.throttled).toBeGreaterThan(Math.max(10, paced.throttled * 4));
  });
});

describe("throttled answers in both dialects", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 1, studentsPerCourse: 20, throttleStatus: 403 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("a legacy 403 'Rate Limit Exceeded' is a throttle (retried), a 403 'not authorized' is not", async () => {
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: sim.developerToken,
      retry: { minDelayMs: 5, maxDelayMs: 20, rateLimitRetries: 2 },
      pacing: { leakPerSecond: 5000 },
    });
    sim.faults.add({ fault: "throttle", route: "GET /api/v1/courses/:id", times: 2 });
    expect((await canvas.courses.get(1)).id).toBe(1);
    expect(canvas.stats().throttled).toBe(2);
    expect(canvas.stats().byStatus["403"]).toBe(2);

    sim.faults.add({ fault: "403-throttled", route: "GET /api/v1/courses/:id", times: 3 });
    const exhausted = await canvas.courses.get(1).catch((error: unknown) => error);
    expect(exhausted).toBeInstanceOf(CanvasRateLimitError);
    expect((exhausted as CanvasRateLimitError).code).toBe(RATE_LIMITED);
    expect((exhausted as CanvasRateLimitError).status).toBe(403);

    sim.faults.clear();
    sim.admin.setCourseForbidden(sim.data.adminUserId, 1);
    const forbidden = await canvas.courses.get(1).catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(CanvasForbiddenError);
    expect(canvas.stats().throttled).toBe(5);
    await canvas.close();
  });

  it("reads rate-limit headers in any case, as floats, negative included, and serializes when low", async () => {
    const server = await startServer((req, res) => {
      const remaining = req.url.includes("low") ? "-12.5" : "599.9873";
      sendJson(res, 200, { ok: true }, { "X-RATE-LIMIT-REMAINING": remaining, "x-request-cost": "0.0211" });
    });
    const clock = new ManualClock(Date.now());
    const canvas = new CanvasClient({ baseUrl: server.url, auth: "t", clock });
    await canvas.request("GET", "/api/v1/fine");
    expect(canvas.stats().rateLimitRemaining).toBeCloseTo(599.99, 1);
    expect(canvas.stats().concurrencyLimit).toBe(8);
    await canvas.request("GET", "/api/v1/low");
    expect(canvas.stats().concurrencyLimit).toBe(1);
    expect(canvas.stats().rateLimitRemaining).toBeLessThan(0);
    // Below pauseBelow (100) the next start waits for the bucket to leak: ~(100 + 12.5) / 10 s.
    const controller = new AbortController();
    const rejected = expect(
      canvas.request("GET", "/api/v1/fine", { signal: controller.signal }),
    ).rejects.toThrow("waited");
    await clock.untilSleeping();
    const started = clock.now();
    await clock.advance(300);
    controller.abort(new Error("waited"));
    await rejected;
    expect(clock.now() - started).toBeGreaterThanOrEqual(290);
    expect(server.requests).toHaveLength(2);
    await canvas.close();
    await server.close();
  });

  it("waits just until the next request fits (its up-front cost), not until a far threshold", async () => {
    // Alone in flight, 45 units left: the next request needs 50 (+ 0.2 reserve), 5.2 units away.
    const server = await startServer((_req, res) => {
      sendJson(res, 200, { ok: true }, { "x-rate-limit-remaining": "45.0", "x-request-cost": "1.0" });
    });
    const gapMs = async (pacing: PacingOptions) => {
      const clock = new ManualClock(Date.now());
      const canvas = new CanvasClient({ baseUrl: server.url, auth: "t", pacing, clock });
      await canvas.request("GET", "/api/v1/a");
      const answered = clock.now();
      const second = canvas.request("GET", "/api/v1/b");
      // Time moves 1 ms at a time until the pacer lets the second request start.
      await clock.untilSleeping();
      while (canvas.stats().inFlight === 0 && clock.now() - answered < 5000) await clock.advance(1);
      const gap = clock.now() - answered;
      await second;
      await canvas.close();
      return gap;
    };
    // At 100 units a second: 52 ms.
    const fits = await gapMs({ leakPerSecond: 100 });
    expect(fits).toBeGreaterThanOrEqual(45);
    expect(fits).toBeLessThan(250);
    // An explicit pauseBelow (the old fixed threshold) is still honoured: (100 - 45) / 100 s.
    const floor = await gapMs({ leakPerSecond: 100, pauseBelow: 100 });
    expect(floor).toBeGreaterThanOrEqual(540);
    await server.close();
  });
});
