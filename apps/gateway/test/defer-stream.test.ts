import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { API_KEY, canvasRoutes, gql, serviceGateway, startSim } from "./helpers.js";

const SUMMARIES = "GET /api/v1/courses/:course_id/analytics/student_summaries";
/** Long enough that a roster (one fast enrollments walk) cannot be mistaken for having waited. */
const ANALYTICS_DELAY_MS = 1500;

const ROSTER_THEN_ANALYTICS = `{ course(id: "1") { name students { nodes {
  id name grades { currentScore }
  ... @defer(label: "analytics") { engagement { pageViews participations } }
} } } }`;

let sim: CanvasSim;
let gateway: Gateway;

beforeAll(async () => {
  sim = await startSim({ courses: 1, studentsPerCourse: 8, assignmentsPerCourse: 1 });
});
beforeEach(() => {
  gateway = serviceGateway(sim);
  sim.resetStats();
});
afterEach(async () => {
  await gateway?.close();
});
afterAll(async () => {
  await sim?.close();
});

interface Part {
  /** Milliseconds from sending the request to this part's arrival. */
  at: number;
  payload: {
    data?: { course: { name: string; students: { nodes: Array<{ id: string; engagement?: unknown }> } } };
    incremental?: Array<{ data?: { engagement?: unknown }; items?: unknown[]; path: unknown[] }>;
    hasNext: boolean;
    errors?: unknown[];
  };
}

/** Sends `query` asking for `multipart/mixed` and timestamps each JSON part as it arrives. */
async function multipart(query: string): Promise<Part[]> {
  const started = performance.now();
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", accept: "multipart/mixed", "x-api-key": API_KEY },
    body: JSON.stringify({ query }),
  });
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^multipart\/mixed/);
  const parts: Part[] = [];
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    // A part is headers, a blank line, then its JSON up to the next boundary line ("---").
    for (let end = buffer.indexOf("\r\n---"); end !== -1; end = buffer.indexOf("\r\n---")) {
      const part = buffer.slice(0, end);
      buffer = buffer.slice(end + 5);
      const body = part.split("\r\n\r\n")[1];
      if (body?.trim()) parts.push({ at: performance.now() - started, payload: JSON.parse(body) });
    }
  }
  return parts;
}

describe("@defer and @stream", () => {
  it("a roster arrives before slow analytics; the deferred engagement after the delay", async () => {
    sim.faults.add({ fault: "slow", route: SUMMARIES, latencyMs: ANALYTICS_DELAY_MS });
    try {
      const parts = await multipart(ROSTER_THEN_ANALYTICS);
      const [first, ...rest] = parts;
      expect(first!.payload.errors).toBeUndefined();
      expect(first!.payload.hasNext).toBe(true);
      const nodes = first!.payload.data!.course.students.nodes;
      expect(nodes).toHaveLength(8);
      expect(nodes.every((node) => node.engagement === undefined)).toBe(true);
      expect(first!.at).toBeLessThan(ANALYTICS_DELAY_MS);

      const increments = rest.flatMap((part) => part.payload.incremental ?? []);
      expect(increments).toHaveLength(8);
      const pageViews = increments.map(
        (i) => (i.data?.engagement as { pageViews?: unknown } | undefined)?.pageViews,
      );
      expect(pageViews.map((views) => typeof views)).toEqual(Array(8).fill("number"));
      const last = rest.at(-1)!;
      expect(last.payload.hasNext).toBe(false);
      expect(Math.min(...rest.map((part) => part.at))).toBeGreaterThanOrEqual(ANALYTICS_DELAY_MS);
    } finally {
      sim.faults.clear();
    }
  });

  it("costs Canvas exactly what the same query without @defer costs", async () => {
    await multipart(ROSTER_THEN_ANALYTICS);
    const deferred = canvasRoutes(sim);
    await gateway.close();
    gateway = serviceGateway(sim);
    sim.resetStats();
    const plain = await gql(
      gateway,
      ROSTER_THEN_ANALYTICS.replace('... @defer(label: "analytics") {', "... {"),
    );
    expect(plain.body.errors).toBeUndefined();
    expect(deferred).toEqual(canvasRoutes(sim));
    expect(deferred[SUMMARIES]).toBe(1);
  });

  it("@stream sends the first students, then the rest, for the same Canvas requests", async () => {
    const parts = await multipart(
      `{ course(id: "1") { students { nodes @stream(initialCount: 3) { id name } } } }`,
    );
    expect(parts[0]!.payload.data!.course.students.nodes).toHaveLength(3);
    const streamed = parts.slice(1).flatMap((part) => part.payload.incremental ?? []);
    expect(streamed.flatMap((i) => i.items ?? [])).toHaveLength(5);
    expect(parts.at(-1)!.payload.hasNext).toBe(false);
    expect(sim.stats().requests.total).toBe(2); // the course and one enrollments walk
  });
});
