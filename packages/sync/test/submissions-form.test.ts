import { CanvasClient, canvasEndpoints, staticTokenProvider } from "@easel/canvas-client";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { submissionRow } from "@easel/export";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CourseDataSource, canvasCourseSource, migrate, runSync } from "../src/index.js";
import { courseFingerprints, testDatabase } from "./helpers.js";

const COURSES = [1, 2, 3];
const STUDENTS = 120;
const ASSIGNMENTS = 25;
const ROUTE = {
  assignments: "GET /api/v1/courses/:course_id/assignments",
  enrollments: "GET /api/v1/courses/:course_id/enrollments",
  submissions: "GET /api/v1/courses/:course_id/students/submissions",
};
// A Canvas-like cost model on a bucket nothing fills: the figures are work, never waits.
const COST = { costPerRequest: 0.05, costPerRow: 0.002, hwm: 1e12, maximum: 1e12 };

const grouped = await testDatabase();
const flat = await testDatabase();
let sim: CanvasSim;
let client: CanvasClient;

beforeAll(async () => {
  sim = await createCanvasSim({
    courses: COURSES.length,
    studentsPerCourse: STUDENTS,
    assignmentsPerCourse: ASSIGNMENTS,
    seed: 23,
    freezeClock: true,
    throttle: COST,
  });
  client = new CanvasClient({ baseUrl: sim.url, auth: staticTokenProvider(sim.developerToken) });
  await migrate(grouped.pool, grouped.schema);
  await migrate(flat.pool, flat.schema);
});
afterAll(async () => {
  await client?.close();
  await sim?.close();
  await grouped.drop();
  await flat.drop();
});

/** The Canvas source, but reading the submissions table in the flat form (100 a page). */
function flatSubmissionsSource(): CourseDataSource {
  const source = canvasCourseSource(client);
  const api = canvasEndpoints(client);
  return {
    async *rows(table, courseId, signal) {
      if (table !== "submissions") {
        yield* source.rows(table, courseId, signal);
        return;
      }
      for await (const s of api.submissions.forStudents(courseId, { studentIds: "all" }, { signal })) {
        yield submissionRow(courseId, s);
      }
    },
    release: (courseId) => source.release?.(courseId),
  };
}

async function fullRun(db: typeof grouped, source: CourseDataSource) {
  sim.resetStats();
  const outcome = await runSync({ pool: db.pool, schema: db.schema, source, courseIds: COURSES, full: true });
  expect(outcome.status.state).toBe("succeeded");
  return sim.stats();
}

describe("a full sync reads submissions in the cheapest form", () => {
  it("grouped pages fill the same warehouse as the flat form, for fewer requests and less cost", async () => {
    const chosen = await fullRun(grouped, canvasCourseSource(client));
    const baseline = await fullRun(flat, flatSubmissionsSource());
    expect(await courseFingerprints(grouped.pool, grouped.schema)).toEqual(
      await courseFingerprints(flat.pool, flat.schema),
    );

    // Roll Call Attendance (odd courses): its submissions, one assignment, flat (2 pages of 100).
    const odd = COURSES.filter((id) => id % 2 === 1).length;
    const rollCall = odd * Math.ceil(STUDENTS / 100);
    // 25 assignments: 40 students a grouped page (1,000 submissions), 3 pages a course.
    expect(chosen.requests.byRoute[ROUTE.submissions]).toBe(COURSES.length * 3 + rollCall);
    expect(baseline.requests.byRoute[ROUTE.submissions]).toBe(
      COURSES.length * Math.ceil((STUDENTS * ASSIGNMENTS) / 100) + rollCall,
    );
    // One walk of the assignments sizes the pages, fills the table and finds Roll Call's assignment.
    expect(chosen.requests.byRoute[ROUTE.assignments]).toBe(COURSES.length);
    // One walk of the enrollments serves users, enrollments and the student lists (123 a course).
    expect(chosen.requests.byRoute[ROUTE.enrollments]).toBe(COURSES.length * 2);
    expect(chosen.rows.byRoute[ROUTE.submissions]).toBe(
      COURSES.length * (STUDENTS * ASSIGNMENTS + STUDENTS) + odd * STUDENTS,
    );
    // Roll Call's assignment, found in that walk: every odd course's students have their attendance.
    const attendance = await grouped.pool.query<{ course_id: string; scored: string }>(
      `SELECT course_id, count(roll_call_score) AS scored FROM "${grouped.schema}".attendance GROUP BY course_id ORDER BY course_id`,
    );
    const truth = COURSES.map((id) => {
      const rollCall = sim.data.assignments(id).find((a) => a.name === "Roll Call Attendance");
      const scored = rollCall
        ? [...sim.data.submissions(id)].filter((s) => s.assignment_id === rollCall.id && s.score !== null)
            .length
        : 0;
      return [id, scored];
    });
    expect(attendance.rows.map((r) => [Number(r.course_id), Number(r.scored)])).toEqual(truth);
    expect(truth.filter(([, scored]) => scored > 0)).toHaveLength(odd);
    expect(chosen.requests.total).toBeLessThan(baseline.requests.total);
    expect(chosen.cost.total).toBeLessThan(baseline.cost.total);
    expect(chosen.cost.total).toBeCloseTo(
      chosen.requests.total * COST.costPerRequest + chosen.rows.total * COST.costPerRow,
      6,
    );
  });
});
