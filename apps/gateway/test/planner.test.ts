import { CanvasClient, isRollCallAssignment } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { gql, serviceGateway, startSim } from "./helpers.js";

/**
 * Round trips, not time: under a `slow` fault on every Canvas request, requests sent together
 * certainly overlap, and the simulator's `rounds` counts the longest chain of requests each sent
 * after the one before was answered. The planner must match a hand-written client that starts
 * every independent list at once (course, roster, summaries, assignments; then the Roll Call
 * submissions, which need the roster's ids and the assignment's id).
 */

let sim: CanvasSim;
let gateway: Gateway;
let slow: number[] = [];

const OVERVIEW = `query Overview($course: ID!, $first: Int, $engagement: Boolean!) {
  course(id: $course) { id name ...Roster } }
fragment Roster on Course { students(first: $first) { totalCount nodes {
  id name grades { currentScore }
  attendance { lastAttendedAt rollCallScore }
  ... @include(if: $engagement) { engagement { pageViews participations lastActivityAt } } } } }`;

async function rounds(query: string, variables: Record<string, unknown> = {}) {
  sim.resetStats();
  const result = await gql(gateway, query, { variables, headers: { "cache-control": "no-cache" } });
  expect(result.body.errors, JSON.stringify(result.body.errors)).toBeUndefined();
  const stats = sim.stats();
  return { rounds: stats.rounds, byRoute: stats.requests.byRoute, body: result.body };
}

/** What a hand-written client does: every independent list at once, then the dependent one. */
async function handWritten(courseId: number): Promise<number> {
  const client = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken, pacing: false });
  const all = async <T>(items: AsyncIterable<T>) => {
    const out: T[] = [];
    for await (const item of items) out.push(item);
    return out;
  };
  try {
    sim.resetStats();
    const [, enrollments, , assignments] = await Promise.all([
      client.courses.get(courseId, { include: ["term"] }),
      all(client.enrollments.forCourse(courseId, { type: ["StudentEnrollment"] })),
      all(client.analytics.studentSummaries(courseId)),
      all(client.assignments.list(courseId)),
    ]);
    const rollCall = assignments.find(isRollCallAssignment)!;
    await all(
      client.submissions.forStudents(courseId, {
        grouped: true,
        assignmentIds: [rollCall.id],
        studentIds: enrollments.map((e) => e.user_id),
      }),
    );
    return sim.stats().rounds;
  } finally {
    await client.close();
  }
}

beforeAll(async () => {
  // Course 1 has Roll Call (odd courses do); 60 students: one page of each list.
  sim = await startSim({ courses: 3, studentsPerCourse: 60, assignmentsPerCourse: 5 });
  slow = sim.faults.add({ fault: "slow", latencyMs: 300 });
});

beforeEach(() => {
  gateway = serviceGateway(sim);
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  for (const id of slow) sim.faults.remove(id);
  await sim?.close();
});

describe("the planner starts every list the operation needs at once", () => {
  it("an uncached course overview takes the round trips of a hand-written client (2), not one per level", async () => {
    const byHand = await handWritten(1);
    expect(byHand).toBe(2);
    const planned = await rounds(OVERVIEW, { course: "1", first: 100, engagement: true });
    expect(planned.rounds).toBe(byHand);
    // Still the minimum: one walk of each list.
    expect(planned.byRoute).toEqual({
      "GET /api/v1/courses/:id": 1,
      "GET /api/v1/courses/:course_id/enrollments": 1,
      "GET /api/v1/courses/:course_id/analytics/student_summaries": 1,
      "GET /api/v1/courses/:course_id/assignments": 1,
      "GET /api/v1/courses/:course_id/students/submissions": 1,
    });
  });

  it("follows @include, fragments and variables: what is not selected is not started", async () => {
    const planned = await rounds(OVERVIEW, { course: "1", first: 100, engagement: false });
    expect(planned.rounds).toBe(2);
    expect(planned.byRoute["GET /api/v1/courses/:course_id/analytics/student_summaries"]).toBeUndefined();
  });

  it("one student by id: enrollment, summary and Roll Call assignments at once, then the submission", async () => {
    const student = sim.data.studentIds(1)[3]!;
    const planned = await rounds(`{ course(id: "1") { name student(id: "${student}") {
      id grades { currentScore } engagement { pageViews } attendance { rollCallScore }
      alias: submissions { score } } } }`);
    expect(planned.rounds).toBe(2);
    expect(planned.byRoute).toEqual({
      "GET /api/v1/courses/:id": 1,
      "GET /api/v1/courses/:course_id/enrollments": 1,
      "GET /api/v1/courses/:course_id/analytics/student_summaries": 1,
      "GET /api/v1/courses/:course_id/assignments": 1,
      // One walk for all published assignments, one for the Roll Call assignment only.
      "GET /api/v1/courses/:course_id/students/submissions": 2,
    });
  });

  it("courses: the course list, then every course's lists at once, then their submissions (3)", async () => {
    // Nine lists at once: above the Canvas client's default concurrency (8), which would queue one.
    await gateway.close();
    gateway = serviceGateway(sim, { canvasClient: { maxConcurrency: 16, retry: { retries: 0 } } });
    const planned = await rounds(`{ courses(first: 3) { nodes { id students(first: 100) { nodes {
      id engagement { pageViews } attendance { rollCallScore } } } } } }`);
    expect(planned.rounds).toBe(3);
    expect(planned.byRoute).toEqual({
      "GET /api/v1/courses": 1,
      "GET /api/v1/courses/:course_id/enrollments": 3,
      "GET /api/v1/courses/:course_id/analytics/student_summaries": 3,
      "GET /api/v1/courses/:course_id/assignments": 3,
      // Roll Call is installed in the odd courses only.
      "GET /api/v1/courses/:course_id/students/submissions": 2,
    });
  });

  it("a page that may hold one student only asks per student (the roster decides, no speculative walk)", async () => {
    const planned = await rounds(
      '{ course(id: "2") { students(first: 1) { nodes { id engagement { pageViews } } } } }',
    );
    expect(planned.byRoute["GET /api/v1/courses/:course_id/analytics/student_summaries"]).toBe(1);
    // Roster first: the one student's summary needs their id.
    expect(planned.rounds).toBe(2);
  });
});
