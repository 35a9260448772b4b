import type { CanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CanvasClient,
  type CanvasClientOptions,
  CanvasNetworkError,
  CanvasResponseError,
  CanvasServerError,
  CanvasTimeoutError,
  MALFORMED_RESPONSE,
  NETWORK,
  TIMEOUT,
  UPSTREAM_UNAVAILABLE,
} from "../src/index.js";
import { startSim } from "./helpers/sim.js";

const ENROLLMENTS = "GET /api/v1/courses/:course_id/enrollments";
const UPDATE_GRADES = "POST /api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades";

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

describe("a full walk survives injected faults", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ seed: 21, courses: 1, studentsPerCourse: 150, assignmentsPerCourse: 8 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("5xx, drops, timeouts, malformed and truncated bodies and throttles: every row exactly once", async () => {
    sim.faults.add("5xx:0.06,drop:0.03,slow=1000:0.04,malformed:0.03,truncate:0.03,throttle:0.04");
    sim.resetStats();
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: sim.developerToken,
      perPage: 20,
      timeoutMs: 400,
      retry: { retries: 10, minDelayMs: 5, maxDelayMs: 50 },
      // The simulator's bucket is not really empty on an injected throttle: leak fast in the test.
      pacing: { leakPerSecond: 5000 },
    });
    try {
      const truth = [...sim.data.submissions(1)].map((s) => s.id);
      const ids: number[] = [];
      for await (const s of canvas.submissions.forStudents(1, { studentIds: "all" })) ids.push(s.id);
      const enrollments: number[] = [];
      for await (const e of canvas.enrollments.forCourse(1)) enrollments.push(e.id);

      expect(ids).toEqual(truth);
      expect(enrollments).toEqual(sim.data.enrollments(1).map((e) => e.id));
      const stats = canvas.stats();
      const injected = sim.stats().faults.byKind;
      console.log("client stats", JSON.stringify(stats), "injected", JSON.stringify(injected));
      for (const kind of ["5xx", "drop", "slow", "malformed", "truncate", "throttle"]) {
        expect(injected[kind], kind).toBeGreaterThan(0);
      }
      expect(stats.retries).toBeGreaterThan(0);
      expect(stats.timeouts).toBeGreaterThan(0);
      expect(stats.networkErrors).toBeGreaterThan(0);
      expect(stats.throttled).toBe(injected.throttle);
      // Every injected fault cost exactly one extra request, no more.
      const requests = sim.stats().requests.total;
      const pages = Math.ceil(truth.length / 20) + Math.ceil(enrollments.length / 20);
      expect(stats.requests).toBe(pages + stats.retries + stats.throttled);
      expect(requests).toBeLessThanOrEqual(stats.requests);
    } finally {
      sim.faults.clear();
      await canvas.close();
    }
  });
});

describe("retry policy per failure kind", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 1, studentsPerCourse: 12, assignmentsPerCourse: 2 });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.faults.clear();
    sim.resetStats();
  });
  const client = (options: Partial<CanvasClientOptions> = {}) =>
    new CanvasClient({
      baseUrl: sim.url,
      auth: sim.developerToken,
      timeoutMs: 5000,
      retry: { retries: 3, minDelayMs: 5, maxDelayMs: 20 },
      ...options,
    });

  it("a GET that keeps failing with 503 gives UPSTREAM_UNAVAILABLE after 1 + retries attempts", async () => {
    const canvas = client();
    sim.faults.add({ fault: "503", route: ENROLLMENTS });
    const error = await failure(canvas.collect("/api/v1/courses/1/enrollments"));
    expect(error).toBeInstanceOf(CanvasServerError);
    expect((error as CanvasServerError).code).toBe(UPSTREAM_UNAVAILABLE);
    expect((error as CanvasServerError).status).toBe(503);
    expect((error as CanvasServerError).attempts).toBe(4);
    expect(sim.stats().requests.byRoute[ENROLLMENTS]).toBe(4);
    expect(canvas.stats().retries).toBe(3);
    await canvas.close();
  });

  it("honours Retry-After-free backoff: a 500 twice, then success", async () => {
    const canvas = client();
    sim.faults.add({ fault: "500", route: ENROLLMENTS, times: 2 });
    const rows = await canvas.collect("/api/v1/courses/1/enrollments");
    expect(rows.length).toBe(sim.data.enrollments(1).length);
    expect(canvas.stats().retries).toBe(2);
    expect(canvas.stats().byStatus).toMatchObject({ "500": 2, "200": 1 });
    await canvas.close();
  });

  it("a slow answer beyond timeoutMs is retried, then TIMEOUT when it never comes", async () => {
    const canvas = client({ timeoutMs: 300 });
    sim.faults.add({ fault: "slow", latencyMs: 900, route: ENROLLMENTS, times: 1 });
    expect((await canvas.collect("/api/v1/courses/1/enrollments")).length).toBeGreaterThan(0);
    expect(canvas.stats().timeouts).toBeGreaterThanOrEqual(1);

    sim.faults.add({ fault: "slow", latencyMs: 900, route: ENROLLMENTS });
    const started = Date.now();
    const error = await failure(canvas.collect("/api/v1/courses/1/enrollments"));
    expect(error).toBeInstanceOf(CanvasTimeoutError);
    expect((error as CanvasTimeoutError).code).toBe(TIMEOUT);
    expect((error as CanvasTimeoutError).attempts).toBe(4);
    // Four attempts of 300 ms each plus short backoffs: well before one 900 ms answer per attempt.
    expect(Date.now() - started).toBeLessThan(4 * 900);
    await canvas.close();
  });

  it("a truncated body and a malformed body are retried; a body that is never JSON is MALFORMED_RESPONSE", async () => {
    const canvas = client();
    sim.faults.add([
      { fault: "truncate", route: ENROLLMENTS, times: 1 },
      { fault: "malformed", route: ENROLLMENTS, times: 1 },
    ]);
    expect((await canvas.collect("/api/v1/courses/1/enrollments")).length).toBe(
      sim.data.enrollments(1).length,
    );
    expect(canvas.stats().retries).toBe(2);

    sim.faults.add({ fault: "malformed", route: ENROLLMENTS });
    const error = await failure(canvas.collect("/api/v1/courses/1/enrollments"));
    expect(error).toBeInstanceOf(CanvasResponseError);
    expect((error as CanvasResponseError).code).toBe(MALFORMED_RESPONSE);
    expect((error as CanvasResponseError).status).toBe(200);
    await canvas.close();
  });

  it("a POST is not replayed after a dropped connection or a 503: maybeApplied tells the caller", async () => {
    const canvas = client();
    const assignment = sim.data.assignments(1)[0]!.id;
    const student = sim.data.studentIds(1)[0]!;

    sim.faults.add({ fault: "drop", route: UPDATE_GRADES, times: 1 });
    const dropped = await failure(canvas.grades.update(1, assignment, { [student]: { posted_grade: "9" } }));
    expect(dropped).toBeInstanceOf(CanvasNetworkError);
    expect((dropped as CanvasNetworkError).code).toBe(NETWORK);
    expect((dropped as CanvasNetworkError).maybeApplied).toBe(true);

    sim.faults.add({ fault: "503", route: UPDATE_GRADES, times: 1 });
    const unavailable = await failure(
      canvas.grades.update(1, assignment, { [student]: { posted_grade: "9" } }),
    );
    expect(unavailable).toBeInstanceOf(CanvasServerError);
    expect((unavailable as CanvasServerError).maybeApplied).toBe(true);
    expect(sim.stats().requests.byRoute[UPDATE_GRADES]).toBe(2);
    expect(canvas.stats().retries).toBe(0);

    // Marked idempotent by the caller, the same POST is retried.
    sim.faults.add({ fault: "503", route: UPDATE_GRADES, times: 1 });
    const progress = await canvas.request<{ id: number }>(
      "POST",
      `/api/v1/courses/1/assignments/${assignment}/submissions/update_grades`,
      { form: { grade_data: { [student]: { posted_grade: "9" } } }, idempotent: true },
    );
    expect(progress.id).toBeGreaterThan(0);
    expect(canvas.stats().retries).toBe(1);
    await canvas.close();
  });

  it("a refused connection is NETWORK after the retries (nothing listening)", async () => {
    const port = Number(new URL(sim.url).port);
    const canvas = new CanvasClient({
      baseUrl: `http://127.0.0.1:${port === 65535 ? 1 : port + 1}`,
      auth: "x",
      retry: { retries: 2, minDelayMs: 1, maxDelayMs: 5 },
    });
    const error = await failure(canvas.users.self());
    expect(error).toBeInstanceOf(CanvasNetworkError);
    expect((error as CanvasNetworkError).attempts).toBe(3);
    expect((error as CanvasNetworkError).maybeApplied).toBe(false);
    await canvas.close();
  });

  it("a caller's abort during a backoff rejects at once with the caller's reason", async () => {
    const clock = new ManualClock(Date.now());
    const canvas = client({ retry: { retries: 5, minDelayMs: 5000, maxDelayMs: 5000 }, clock });
    sim.faults.add({ fault: "503", route: ENROLLMENTS });
    const controller = new AbortController();
    const rejected = expect(
      canvas.collect("/api/v1/courses/1/enrollments", undefined, { signal: controller.signal }),
    ).rejects.toThrow("stop now");
    // The first 503 is in and the client sleeps its backoff.
    await clock.untilSleeping();
    const started = Date.now();
    controller.abort(new Error("stop now"));
    await rejected;
    expect(Date.now() - started).toBeLessThan(1500);
    expect(clock.sleeping).toBe(0);
    await canvas.close();
  });
});
