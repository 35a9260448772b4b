import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  MemoryResponseStore,
  type ResponseStore,
  type RunningGateway,
  type StoredResponse,
  startGateway,
} from "../src/index.js";
import { API_KEY, OUTSIDE_QUERY, startSim } from "./helpers.js";

const SECOND_KEY = "second-key-0123456789abcdef";

let sim: CanvasSim;
let running: RunningGateway;
let clockMs = 0;

/** A POST over real HTTP (the node:http path that answers repeats before Yoga). */
async function post(
  query: string,
  options: { headers?: Record<string, string>; variables?: Record<string, unknown>; key?: string } = {},
) {
  const response = await fetch(`${running.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": options.key ?? API_KEY, ...options.headers },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, body: JSON.parse(text) };
}

async function lookups(): Promise<Record<string, number>> {
  const metric = await running.gateway.metrics.responseCacheLookups.get();
  return Object.fromEntries(metric.values.map((v) => [String(v.labels.result), v.value]));
}

beforeAll(async () => {
  sim = await startSim({ courses: 3, studentsPerCourse: 30, assignmentsPerCourse: 4 });
});

beforeEach(async () => {
  clockMs = 0;
  running = await startGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY, SECOND_KEY],
    logger: false,
    canvasClient: { retry: { retries: 0, rateLimitRetries: 0, minDelayMs: 1, maxDelayMs: 5 } },
    clock: () => clockMs,
    port: 0,
  });
  sim.resetStats();
});

afterEach(async () => {
  sim.faults.clear();
  await running?.close();
});

afterAll(async () => {
  await sim?.close();
});

describe("the response cache (service mode, over HTTP)", () => {
  it("answers the same query again from the stored bytes: no Canvas request, no list cache lookup", async () => {
    const first = await post(OUTSIDE_QUERY);
    expect(first.status).toBe(200);
    expect(first.body.errors).toBeUndefined();
    const canvas = sim.stats().requests.total;
    expect(canvas).toBeGreaterThan(0);
    const listLookups = (await running.gateway.metrics.listCacheLookups.get()).values.length;

    const second = await post(OUTSIDE_QUERY);
    expect(second.status).toBe(200);
    expect(second.text).toBe(first.text);
    expect(second.headers.get("content-type")).toBe(first.headers.get("content-type"));
    expect(second.headers.get("x-request-id")).toBeTruthy();
    expect(sim.stats().requests.total).toBe(canvas);
    expect(await lookups()).toEqual({ miss: 1, hit: 1 });
    // Nothing reached the resolvers.
    expect((await running.gateway.metrics.listCacheLookups.get()).values.length).toBe(listLookups);
    // Any API key: they all use the one service credential, whose view it is.
    expect((await post(OUTSIDE_QUERY, { key: SECOND_KEY })).text).toBe(first.text);
  });

  it("keys by variables and document: another student is another answer", async () => {
    const ONE = "query One($id: ID!) { course(id: $id) { id name } }";
    const a = await post(ONE, { variables: { id: "1" } });
    const b = await post(ONE, { variables: { id: "2" } });
    expect(a.body.data.course.id).toBe("1");
    expect(b.body.data.course.id).toBe("2");
    expect((await post(ONE, { variables: { id: "2" } })).text).toBe(b.text);
    expect(await lookups()).toEqual({ miss: 2, hit: 1 });
  });

  it("a stored answer expires with the earliest list it was made of (never older than a list)", async () => {
    await post(OUTSIDE_QUERY);
    // Half a TTL later, another document over the same (stored) lists.
    clockMs += 30_000;
    const NAMES = '{ course(id: "1") { students(first: 100) { nodes { id name } } } }';
    await post(NAMES);
    clockMs += 29_000;
    await post(NAMES);
    expect(await lookups()).toEqual({ miss: 2, hit: 1 });
    // Its lists expired at 60 s: so did it, though it was made at 30 s.
    clockMs += 2_000;
    sim.resetStats();
    await post(NAMES);
    expect(await lookups()).toEqual({ miss: 3, hit: 1 });
    expect(sim.stats().requests.total).toBeGreaterThan(0);
  });

  it("a wrong API key is refused, stored answers or not", async () => {
    await post(OUTSIDE_QUERY);
    const refused = await post(OUTSIDE_QUERY, { key: "not-a-key-0123456789abcdef" });
    expect(refused.status).toBe(401);
    expect(refused.text).not.toContain('"data"');
    const none = await fetch(`${running.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: OUTSIDE_QUERY }),
    });
    expect(none.status).toBe(401);
  });

  it("expires with the list cache's TTL", async () => {
    await post(OUTSIDE_QUERY);
    clockMs += 59_000;
    await post(OUTSIDE_QUERY);
    expect(await lookups()).toEqual({ miss: 1, hit: 1 });
    clockMs += 2_000;
    sim.resetStats();
    await post(OUTSIDE_QUERY);
    expect(await lookups()).toEqual({ miss: 2, hit: 1 });
    expect(sim.stats().requests.total).toBeGreaterThan(0);
  });

  it("never stores an answer with errors: the repeat asks Canvas again and gets the data", async () => {
    sim.faults.add("503:x1@GET /api/v1/courses/:course_id/enrollments");
    const failed = await post(OUTSIDE_QUERY);
    expect(failed.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    sim.resetStats();
    const repeated = await post(OUTSIDE_QUERY);
    expect(repeated.body.errors).toBeUndefined();
    expect(repeated.body.data.course.students.nodes.length).toBe(30);
    expect(sim.stats().requests.total).toBeGreaterThan(0);
    expect(await lookups()).toEqual({ miss: 2 });
  });

  it("stores no answer of viewer or progress (not list-cached: they check the credential and a job)", async () => {
    await post("{ viewer { id } }");
    sim.resetStats();
    await post("{ viewer { id } }");
    expect(sim.stats().requests.total).toBe(1);
    expect(await lookups()).toEqual({ miss: 2 });
  });

  it("Cache-Control: no-cache skips the stored answer and stores the fresh one", async () => {
    const STUDENT_1 =
      '{ course(id: "1") { students(first: 1) { nodes { id attendance { lastAttendedAt } } } } }';
    const before = await post(STUDENT_1);
    const student = before.body.data.course.students.nodes[0].id as string;
    // Canvas changes behind the gateway's back (not through it).
    const put = await fetch(`${sim.url}/api/v1/courses/1/users/${student}/last_attended`, {
      method: "PUT",
      headers: {
        authorization: `Bearer ${sim.developerToken}`,
        "content-type": "application/x-www-form-urlencoded",
      },
      body: "date=2026-10-01T08%3A00%3A00Z",
    });
    expect(put.status).toBe(200);
    expect((await post(STUDENT_1)).text).toBe(before.text);
    const fresh = await post(STUDENT_1, { headers: { "cache-control": "no-cache" } });
    expect(fresh.body.data.course.students.nodes[0].attendance.lastAttendedAt).toBe("2026-10-01T08:00:00Z");
    expect((await post(STUDENT_1)).text).toBe(fresh.text);
    expect(await lookups()).toEqual({ miss: 1, hit: 2, refresh: 1 });
  });

  it("a mutation drops every stored answer: the next read shows the write", async () => {
    const ATTENDANCE =
      '{ course(id: "2") { students(first: 2) { nodes { id attendance { lastAttendedAt } } } } }';
    const before = await post(ATTENDANCE);
    const student = before.body.data.course.students.nodes[0].id as string;
    const other = await post(OUTSIDE_QUERY);
    const written = await post(
      `mutation { setLastAttended(courseId: "2", studentId: "${student}", date: "2026-10-02T09:00:00Z") { lastAttendedAt } }`,
    );
    expect(written.body.errors).toBeUndefined();
    const after = await post(ATTENDANCE);
    expect(after.body.data.course.students.nodes[0].attendance.lastAttendedAt).toBe("2026-10-02T09:00:00Z");
    // Another course's answer is dropped too (a write may change any view; generations, no scan).
    sim.resetStats();
    expect((await post(OUTSIDE_QUERY)).text).toBe(other.text);
    expect(sim.stats().requests.total).toBe(0);
    expect(await lookups()).toEqual({ miss: 5 });
  });
});

describe("a ResponseStore whose calls are async (as a shared one over Redis is)", () => {
  it("answers repeats, drops them after a mutation, and keeps errors out, through promises", async () => {
    const memory = new MemoryResponseStore({ maxBytes: 1 << 20, now: () => clockMs });
    const calls: string[] = [];
    const asyncStore: ResponseStore = {
      get: async (key) => {
        calls.push("get");
        return memory.get(key);
      },
      set: async (key: string, value: StoredResponse, ttlMs: number) => {
        calls.push("set");
        memory.set(key, value, ttlMs);
      },
      generation: async (scope) => memory.generation(scope),
      bump: async (scope) => {
        calls.push("bump");
        memory.bump(scope);
      },
    };
    await running.close();
    running = await startGateway({
      mode: "service",
      canvasBaseUrl: sim.url,
      auth: sim.developerToken,
      apiKeys: [API_KEY],
      logger: false,
      clock: () => clockMs,
      responseCache: { store: asyncStore },
      port: 0,
    });
    const first = await post(OUTSIDE_QUERY);
    expect((await post(OUTSIDE_QUERY)).text).toBe(first.text);
    expect(await lookups()).toEqual({ miss: 1, hit: 1 });
    expect(memory.stats.entries).toBe(1);
    const student = first.body.data.course.students.nodes[0].id as string;
    await post(
      `mutation { setLastAttended(courseId: "1", studentId: "${student}", date: "2026-10-03T09:00:00Z") { lastAttendedAt } }`,
    );
    expect(calls).toContain("bump");
    const after = await post(OUTSIDE_QUERY);
    expect(after.body.data.course.students.nodes[0].attendance.lastAttendedAt).toBe("2026-10-03T09:00:00Z");
    expect(await lookups()).toEqual({ miss: 3, hit: 1 });
  });
});
