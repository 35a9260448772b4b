import { describe, expect, it } from "vitest";
import { createCanvasSim } from "../src/index.js";
import { call, startSim, walk } from "./helpers.js";

describe("seeded data", () => {
  it("is deterministic: the same seed gives the same data, another seed other data", async () => {
    const [a, b, c] = await Promise.all([
      startSim({ seed: 5 }),
      startSim({ seed: 5 }),
      startSim({ seed: 6 }),
    ]);
    try {
      // Everything but the base URL (each simulator has its own port).
      const snapshot = (sim: typeof a) =>
        JSON.stringify({
          courses: sim.data.courses(),
          users: sim.data.users(),
          enrollments: sim.data.enrollments(2),
          assignments: sim.data.assignments(1),
          submissions: [...sim.data.submissions(3)],
          summaries: sim.data.studentSummaries(1),
        }).replaceAll(sim.url, "BASE");
      expect(snapshot(a)).toEqual(snapshot(b));
      expect(snapshot(a)).not.toEqual(snapshot(c));
      const apiA = await walk(a, "/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=100");
      const apiB = await walk(b, "/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=100");
      expect(JSON.stringify(apiA.rows).replaceAll(a.url, "BASE")).toBe(
        JSON.stringify(apiB.rows).replaceAll(b.url, "BASE"),
      );
    } finally {
      await Promise.all([a.close(), b.close(), c.close()]);
    }
  });

  it("starts well under a second at 5 courses x 200 students x 40 assignments", async () => {
    const started = performance.now();
    const sim = await createCanvasSim();
    const elapsed = performance.now() - started;
    try {
      expect(elapsed).toBeLessThan(500);
      const first = performance.now();
      const result = await call<unknown[]>(sim, "/api/v1/courses/1/enrollments?per_page=100");
      expect(result.body).toHaveLength(100);
      expect(performance.now() - first).toBeLessThan(1000);
      expect(sim.data.submissionsCount(1)).toBe(200 * 40);
    } finally {
      await sim.close();
    }
  });

  it("has course ids 1..N, terms, accounts and a Roll Call Attendance assignment in odd courses", async () => {
    const sim = await startSim({ courses: 4 });
    try {
      const courses = await call<Array<{ id: number; term: { name: string }; enrollment_term_id: number }>>(
        sim,
        "/api/v1/courses?include[]=term",
      );
      expect(courses.body.map((course) => course.id)).toEqual([1, 2, 3, 4]);
      expect(courses.body[0]!.term.name).toBe("Fall 2026");
      expect((await call(sim, "/api/v1/courses/1")).status).toBe(200);
      for (const courseId of [1, 2, 3, 4]) {
        const attendance = sim.data
          .assignments(courseId)
          .filter((assignment) => assignment.name === "Roll Call Attendance");
        if (courseId % 2 === 1) {
          expect(attendance).toHaveLength(1);
          expect(attendance[0]).toMatchObject({
            grading_type: "percent",
            points_possible: 100,
            submission_types: ["external_tool"],
            published: true,
          });
          const grades = [...sim.data.submissions(courseId, { assignmentIds: [attendance[0]!.id] })];
          expect(grades.every((row) => /^\d+%$/.test(String(row.grade)))).toBe(true);
        } else {
          expect(attendance).toHaveLength(0);
        }
      }
      const spring = await call<Array<{ id: number; enrollment_term_id: number }>>(
        sim,
        "/api/v1/accounts/1/courses?enrollment_term_id=2",
      );
      expect(spring.body.map((course) => course.id)).toEqual([3]);
      const bySis = await call<Array<{ id: number }>>(
        sim,
        "/api/v1/accounts/1/courses?enrollment_term_id=sis_term_id:2026FA",
      );
      expect(bySis.body.map((course) => course.id)).toEqual([1, 2, 4]);
      const sub = await call<Array<{ account_id: number }>>(sim, "/api/v1/accounts/2/courses");
      expect(sub.body.every((course) => course.account_id === 2)).toBe(true);
      const terms = await call<{ enrollment_terms: Array<{ name: string }> }>(
        sim,
        "/api/v1/accounts/1/terms",
      );
      expect(terms.body.enrollment_terms.map((term) => term.name)).toEqual([
        "Default Term",
        "Spring 2026",
        "Fall 2026",
      ]);
    } finally {
      await sim.close();
    }
  });

  it("names include commas, quotes, apostrophes and non-Latin scripts", async () => {
    const sim = await startSim({ courses: 2, studentsPerCourse: 400 });
    try {
      const names = sim.data.users().map((user) => String(user.name));
      expect(names.some((name) => name.includes(","))).toBe(true);
      expect(names.some((name) => name.includes('"'))).toBe(true);
      expect(names.some((name) => name.includes("'"))).toBe(true);
      expect(names.some((name) => /[^\p{Script=Latin}\p{P}\p{Zs}]/u.test(name))).toBe(true);
      const user = sim.data.user(sim.data.studentIds(1)[0]!)!;
      expect(Object.keys(user)).toEqual(
        expect.arrayContaining(["id", "name", "sortable_name", "short_name", "sis_user_id", "login_id"]),
      );
    } finally {
      await sim.close();
    }
  });

  it("lists course users by enrollment type, ordered by sortable name", async () => {
    const sim = await startSim();
    try {
      const { rows } = await walk<{ id: number; sortable_name: string }>(
        sim,
        "/api/v1/courses/1/users?enrollment_type[]=student&per_page=10",
      );
      const active = sim.data
        .enrollments(1, { type: ["StudentEnrollment"], state: ["active", "invited"] })
        .map((enrollment) => enrollment.user_id);
      expect(new Set(rows.map((row) => row.id))).toEqual(new Set(active));
      const teachers = await call<Array<{ id: number }>>(
        sim,
        "/api/v1/courses/1/users?enrollment_type[]=teacher",
      );
      expect(teachers.body.map((row) => row.id).sort()).toEqual(
        sim.data
          .staff(1)
          .slice(0, 2)
          .map((user) => user.id)
          .sort(),
      );
    } finally {
      await sim.close();
    }
  });

  it("validates options with TypeErrors naming the option", async () => {
    for (const options of [
      { courses: 0 },
      { studentsPerCourse: 1.5 },
      { throttleStatus: 500 },
      { faults: "nope:1" },
      { seed: "x" },
    ]) {
      await expect(createCanvasSim(options as never)).rejects.toThrow(
        expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
      );
    }
  });
});
