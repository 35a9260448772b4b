import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CanvasSim, DEFAULT_NOW } from "../src/index.js";
import { call, startSim, walk } from "./helpers.js";

/** What a real course looks like through the API: letters, attendance, and counts that add up. */
interface Enrollment {
  user_id: number;
  enrollment_state: string;
  last_attended_at: string | null;
  grades: { current_score: number | null; current_grade: string | null; final_grade: string | null };
}

const LETTERS = /^(A|A-|B\+|B|B-|C\+|C|C-|D\+|D|D-|F)$/;

let sim: CanvasSim;
beforeAll(async () => {
  // Generated dates are relative to the data epoch; a clock started there reads them as "recent".
  sim = await startSim({
    courses: 3,
    studentsPerCourse: 60,
    assignmentsPerCourse: 8,
    seed: 1,
    now: DEFAULT_NOW,
  });
});
afterAll(() => sim?.close());

const roster = async (courseId: number, states = "") =>
  (
    await walk<Enrollment>(
      sim,
      `/api/v1/courses/${courseId}/enrollments?type[]=StudentEnrollment&per_page=100${states}`,
    )
  ).rows;

describe("a course looks like a real course", () => {
  it("has letter grades exactly where the course has a grading standard (course 1 and 2, not 3)", async () => {
    for (const courseId of [1, 2, 3]) {
      const course = await call<{ grading_standard_id: number | null }>(sim, `/api/v1/courses/${courseId}`);
      const rows = await roster(courseId);
      const graded = rows.filter((row) => row.grades.current_score !== null);
      expect(graded.length).toBeGreaterThan(rows.length / 2);
      if (courseId === 3) {
        expect(course.body.grading_standard_id).toBeNull();
        for (const row of rows)
          expect([row.grades.current_grade, row.grades.final_grade]).toEqual([null, null]);
      } else {
        expect(course.body.grading_standard_id).toBe(1);
        for (const row of graded) {
          expect(row.grades.current_grade).toMatch(LETTERS);
          expect(row.grades.final_grade).toMatch(LETTERS);
        }
      }
    }
  });

  it("has last-attended dates and Roll Call scores for most students of a course with Roll Call", async () => {
    const rows = await roster(1);
    const now = sim.now();
    const active = rows.filter((row) => row.enrollment_state === "active");
    const attended = active.filter((row) => row.last_attended_at !== null);
    expect(attended.length).toBeGreaterThanOrEqual(active.length * 0.8);
    expect(attended.length).toBeLessThan(active.length);
    for (const row of attended) {
      const at = Date.parse(row.last_attended_at!);
      expect(at).toBeLessThan(now);
      expect(at).toBeGreaterThan(now - 11 * 86_400_000);
    }
    for (const row of rows.filter((r) => r.enrollment_state === "invited"))
      expect(row.last_attended_at).toBeNull();

    const assignments = await call<Array<{ id: number; name: string }>>(
      sim,
      "/api/v1/courses/1/assignments?per_page=100",
    );
    const rollCall = assignments.body.find((a) => a.name === "Roll Call Attendance")!;
    const submissions = await walk<{ score: number | null }>(
      sim,
      `/api/v1/courses/1/assignments/${rollCall.id}/submissions?per_page=100`,
    );
    const scored = submissions.rows.filter((s) => s.score !== null);
    expect(scored.length).toBeGreaterThanOrEqual(submissions.rows.length * 0.8);

    // A course without Roll Call has no attendance dates (until a client sets one).
    for (const row of await roster(2)) expect(row.last_attended_at).toBeNull();
  });

  it("counts students by state as the API lists them: the default roster plus the concluded ones", async () => {
    for (const courseId of [1, 2, 3]) {
      const counts = sim.data.studentCounts(courseId);
      const listed = await roster(courseId);
      const concluded = await roster(courseId, "&state[]=completed");
      expect(counts.active + counts.invited + counts.inactive).toBe(listed.length);
      expect(counts.completed).toBe(concluded.length);
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(60);
      for (const state of ["active", "invited", "inactive"] as const) {
        expect(listed.filter((row) => row.enrollment_state === state)).toHaveLength(counts[state]);
      }
    }
    expect(sim.data.studentCounts(99)).toEqual({
      active: 0,
      invited: 0,
      inactive: 0,
      completed: 0,
      deleted: 0,
    });
  });
});
