import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CanvasClient,
  GROUPED_SUBMISSIONS_PER_PAGE,
  type StudentSubmissions,
  type Submission,
  submissionsPlan,
} from "../src/index.js";
import { startSim } from "./helpers/sim.js";

const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";

describe("submissionsPlan (pure)", () => {
  it("the issue's million-row course: grouped pages of 10 students, 1,000 requests instead of 10,000", () => {
    const plan = submissionsPlan({ students: 10_000, assignments: 100 });
    expect(plan).toMatchObject({ form: "grouped", perPage: 10, requests: 1_000, rows: 1_010_000 });
    expect(plan.query).toEqual({ student_ids: ["all"], grouped: true, per_page: 10 });
    // The same course with no page budget (100 students a page) would be the 100 requests.
    expect(
      submissionsPlan({ students: 10_000, assignments: 100 }, { maxSubmissionsPerPage: 10_000 }),
    ).toMatchObject({ form: "grouped", perPage: 100, requests: 100 });
  });

  it("keeps every grouped page within the budget, one student a page at the least", () => {
    for (const assignments of [2, 7, 10, 11, 40, 100, 999, 1_000, 5_000]) {
      const plan = submissionsPlan({ assignments });
      expect(plan.form).toBe("grouped");
      expect(plan.perPage).toBeGreaterThanOrEqual(1);
      expect(plan.perPage).toBeLessThanOrEqual(100);
      if (assignments <= GROUPED_SUBMISSIONS_PER_PAGE) {
        expect(plan.perPage * assignments).toBeLessThanOrEqual(GROUPED_SUBMISSIONS_PER_PAGE);
      } else {
        expect(plan.perPage).toBe(1);
      }
    }
  });

  it("never needs more requests than the flat form; flat wins the ties (it serves no student entries)", () => {
    for (const students of [1, 3, 10, 50, 99, 100, 101, 250, 1_000, 40_000]) {
      for (const assignments of [1, 2, 5, 20, 21, 60, 150]) {
        const plan = submissionsPlan({ students, assignments });
        const flatRequests = Math.ceil((students * assignments) / 100);
        expect(plan.requests!).toBeLessThanOrEqual(flatRequests);
        if (plan.requests === flatRequests) expect(plan.form).toBe("flat");
        else expect(plan.form).toBe("grouped");
      }
    }
    expect(submissionsPlan({ students: 5_000, assignments: 1 }).form).toBe("flat");
    expect(submissionsPlan({ students: 30, assignments: 3 })).toMatchObject({ form: "flat", requests: 1 });
    // Unknown roster: one assignment reads flat, more read grouped.
    expect(submissionsPlan({ assignments: 1 }).form).toBe("flat");
    expect(submissionsPlan({ assignments: 2 })).toMatchObject({ form: "grouped", requests: undefined });
  });

  it("asks nothing of a course without published assignments; a roster of none is still asked once", () => {
    expect(submissionsPlan({ assignments: 0, students: 30 })).toMatchObject({
      requests: 0,
      query: undefined,
    });
    expect(submissionsPlan({ assignments: 4, students: 0 })).toMatchObject({ form: "flat", requests: 1 });
  });

  it("refuses a shape that is not counts", () => {
    expect(() => submissionsPlan({ assignments: -1 })).toThrow(/assignments/);
    expect(() => submissionsPlan({ assignments: 2, students: 1.5 })).toThrow(/students/);
    expect(() => submissionsPlan({ assignments: 2 }, { maxSubmissionsPerPage: 0 })).toThrow(
      /maxSubmissionsPerPage/,
    );
  });
});

describe("submissionsPlan against the simulator's ground truth", () => {
  let sim: CanvasSim;
  let canvas: CanvasClient;
  const shape = { students: 230, assignments: 30 };
  beforeAll(async () => {
    sim = await startSim({
      courses: 1,
      studentsPerCourse: shape.students,
      assignmentsPerCourse: shape.assignments,
      throttle: { costPerRequest: 0.05, costPerRow: 0.002, hwm: 1e12, maximum: 1e12 },
    });
    canvas = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
  });
  afterAll(async () => {
    await canvas.close();
    await sim.close();
  });

  it("each form costs what the plan says, and both serve the same submissions", async () => {
    const plan = submissionsPlan(shape);
    expect(plan).toMatchObject({ form: "grouped", perPage: 33, requests: 7 });
    sim.resetStats();
    const grouped: Submission[] = [];
    for await (const student of canvas.submissions.forStudents(1, {
      studentIds: "all",
      grouped: true,
      perPage: plan.perPage,
    }) as AsyncIterable<StudentSubmissions>) {
      grouped.push(...student.submissions);
    }
    const groupedStats = sim.stats();
    expect(groupedStats.requests.byRoute[SUBMISSIONS]).toBe(plan.requests);
    expect(groupedStats.rows.total).toBe(plan.rows);
    expect(groupedStats.cost.total).toBeCloseTo(plan.requests! * 0.05 + plan.rows! * 0.002, 6);

    sim.resetStats();
    const flat: Submission[] = [];
    for await (const s of canvas.submissions.forStudents(1, { studentIds: "all" })) flat.push(s);
    const flatStats = sim.stats();
    const flatRequests = Math.ceil((shape.students * shape.assignments) / 100);
    expect(flatStats.requests.byRoute[SUBMISSIONS]).toBe(flatRequests);
    expect(flatStats.rows.total).toBe(shape.students * shape.assignments);
    expect(flatStats.cost.total).toBeCloseTo(flatRequests * 0.05 + flatStats.rows.total * 0.002, 6);
    // 7 requests against 69, for 230 more rows: the grouped walk costs Canvas less.
    expect(groupedStats.cost.total).toBeLessThan(flatStats.cost.total);

    const key = (s: Submission) => s.id;
    expect(grouped.map(key).sort((a, b) => Number(a) - Number(b))).toEqual(
      flat.map(key).sort((a, b) => Number(a) - Number(b)),
    );
    expect(new Set(grouped.map(key)).size).toBe(shape.students * shape.assignments);
    const byId = new Map(flat.map((s) => [s.id, s]));
    for (const s of grouped) expect(s).toEqual(byId.get(s.id));
  });
});
