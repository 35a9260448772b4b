import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { escapeBase, submissionJson, submissionJsonText } from "../src/data/json.js";
import { SimModel } from "../src/data/model.js";
import type { CanvasSim } from "../src/index.js";
import { call, parseLinks, startSim, walk } from "./helpers.js";

type Submission = {
  id: number;
  user_id: number;
  assignment_id: number;
  workflow_state: string;
  score: number | null;
};
type Group = {
  user_id: number;
  section_id: number;
  submissions: Submission[];
  sis_user_id?: string;
  computed_current_score?: number | null;
};

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ courses: 3, studentsPerCourse: 57, assignmentsPerCourse: 9 });
});
afterAll(() => sim.close());

const base = "/api/v1/courses/2/students/submissions";

describe("students/submissions, ungrouped (bookmark pages)", () => {
  it("walks every submission exactly once, ordered by id, equal to the ground truth", async () => {
    const expected = [...sim.data.submissions(2)];
    expect(expected).toHaveLength(57 * 9);
    const { rows, pages } = await walk<Submission>(sim, `${base}?student_ids[]=all&per_page=50`);
    expect(pages).toBe(Math.ceil((57 * 9) / 50));
    expect(rows).toEqual(expected);
    const ids = rows.map((row) => row.id);
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    const range = sim.data.submissionIdRange(2);
    expect(ids[0]).toBe(range.first);
    expect(ids.at(-1)).toBe(range.last);
  });

  it("filters by student_ids, assignment_ids and workflow_state", async () => {
    const [a, b] = sim.data.studentIds(2);
    const assignments = sim.data.assignments(2).map((assignment) => assignment.id);
    const picked = [assignments[4]!, assignments[1]!];
    const { rows } = await walk<Submission>(
      sim,
      `${base}?student_ids[]=${b}&student_ids[]=${a}&assignment_ids[]=${picked[0]}&assignment_ids[]=${picked[1]}&per_page=3`,
    );
    expect(rows).toEqual([...sim.data.submissions(2, { studentIds: [a!, b!], assignmentIds: picked })]);
    expect(rows).toHaveLength(4);
    const graded = await walk<Submission>(
      sim,
      `${base}?student_ids[]=all&workflow_state=graded&per_page=100`,
    );
    expect(graded.rows.length).toBe(sim.data.submissionsCount(2, { workflowState: "graded" }));
    expect(graded.rows.every((row) => row.workflow_state === "graded")).toBe(true);
    expect(graded.rows.length).toBeGreaterThan(0);
  });

  it("mixes workflow states, scores, late and missing flags", async () => {
    const rows = [...sim.data.submissions(2)] as Array<Submission & { late: boolean; missing: boolean }>;
    const states = new Set(rows.map((row) => row.workflow_state));
    for (const state of ["graded", "submitted", "unsubmitted"]) expect(states).toContain(state);
    expect(rows.some((row) => row.late)).toBe(true);
    expect(rows.some((row) => row.missing)).toBe(true);
    expect(rows.some((row) => typeof row.score === "number")).toBe(true);
  });

  it("more than 100 explicit students → 400 too many students", async () => {
    const wide = await startSim({ courses: 1, studentsPerCourse: 120, assignmentsPerCourse: 1 });
    try {
      const ids = wide.data.studentIds(1).slice(0, 101);
      const query = ids.map((id) => `student_ids[]=${id}`).join("&");
      const result = await call(wide, `/api/v1/courses/1/students/submissions?${query}`);
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ error: "too many students" });
      const hundred = await call(
        wide,
        `/api/v1/courses/1/students/submissions?${ids
          .slice(0, 100)
          .map((id) => `student_ids[]=${id}`)
          .join("&")}`,
      );
      expect(hundred.status).toBe(200);
    } finally {
      await wide.close();
    }
  });

  it("an unknown assignment id → 403 invalid assignment ids requested", async () => {
    const result = await call(sim, `${base}?student_ids[]=all&assignment_ids[]=999999`);
    expect(result.status).toBe(403);
    expect(result.body).toEqual({ error: "invalid assignment ids requested" });
  });

  it("a student id outside the course → 403", async () => {
    const outsider = sim.data.studentIds(3).at(-1)!;
    expect((await call(sim, `${base}?student_ids[]=${outsider}`)).status).toBe(403);
  });

  it("rejects bad submitted_since and enrollment_state", async () => {
    const since = await call(sim, `${base}?student_ids[]=all&submitted_since=yesterday`);
    expect(since.status).toBe(400);
    expect(since.body).toEqual({ errors: { submitted_since: "Invalid datetime for submitted_since" } });
    const state = await call(sim, `${base}?student_ids[]=all&enrollment_state=bogus`);
    expect(state.body).toEqual({ error: "invalid enrollment_state" });
  });

  it("exclude_response_fields[]=preview_url drops that field", async () => {
    const result = await call<Array<Record<string, unknown>>>(
      sim,
      `${base}?student_ids[]=all&per_page=2&exclude_response_fields[]=preview_url`,
    );
    expect(result.body[0]).not.toHaveProperty("preview_url");
    expect(result.body[0]).toHaveProperty("seconds_late");
  });

  it("the hand-built JSON text equals JSON.stringify of the object form", () => {
    const model = new SimModel({
      seed: 7,
      courses: 2,
      studentsPerCourse: 40,
      assignmentsPerCourse: 12,
      teachersPerCourse: 1,
      tasPerCourse: 1,
      now: Date.UTC(2026, 9, 15, 12),
    });
    const url = 'http://127.0.0.1:1/"quoted"';
    for (let a = 0; a < 12; a++) {
      for (let k = 0; k < 40; k++) {
        const row = model.submissions.row(2, a, k);
        expect(submissionJsonText(row, escapeBase(url))).toBe(JSON.stringify(submissionJson(row, url)));
      }
    }
  });
});

describe("students/submissions, grouped (numeric pages of students)", () => {
  it("pages students by id with rel=last; each has every submission", async () => {
    const { rows, pages, links } = await walk<Group>(sim, `${base}?student_ids[]=all&grouped=1&per_page=10`);
    expect(pages).toBe(6);
    expect(parseLinks(links[0]!).last).toContain("page=6&");
    expect(rows.map((row) => row.user_id)).toEqual(sim.data.studentIds(2));
    for (const group of rows) {
      expect(group.section_id).toBe(2);
      expect(group.submissions).toHaveLength(9);
      expect(group.submissions.every((submission) => submission.user_id === group.user_id)).toBe(true);
      expect(group.sis_user_id).toMatch(/^S\d{7}$/);
    }
  });

  it("include[]=total_scores adds computed scores equal to the enrollment grades", async () => {
    const result = await call<Group[]>(
      sim,
      `${base}?student_ids[]=all&grouped=1&include[]=total_scores&per_page=5`,
    );
    for (const group of result.body) {
      expect(group.computed_current_score).toBe(sim.data.grades(2, group.user_id)!.current_score);
    }
  });

  it("workflow_state filters submissions but keeps every student", async () => {
    const result = await call<Group[]>(
      sim,
      `${base}?student_ids[]=all&grouped=1&workflow_state=unsubmitted&per_page=100`,
    );
    expect(result.body).toHaveLength(57);
    expect(
      result.body.flatMap((group) => group.submissions).every((row) => row.workflow_state === "unsubmitted"),
    ).toBe(true);
  });
});

describe("one assignment's submissions", () => {
  it("lists every student's submission by user id with numeric pages", async () => {
    const assignment = sim.data.assignments(1)[0]!;
    const { rows } = await walk<Submission>(
      sim,
      `/api/v1/courses/1/assignments/${assignment.id}/submissions?per_page=20`,
    );
    expect(rows.map((row) => row.user_id)).toEqual(sim.data.studentIds(1));
    expect(rows.every((row) => row.assignment_id === assignment.id)).toBe(true);
  });

  it("shows one submission (include[]=user adds the user)", async () => {
    const assignment = sim.data.assignments(1)[2]!;
    const userId = sim.data.studentIds(1)[3]!;
    const result = await call<Submission & { user: { id: number } }>(
      sim,
      `/api/v1/courses/1/assignments/${assignment.id}/submissions/${userId}?include[]=user`,
    );
    expect(result.body.id).toBe(sim.data.submission(1, assignment.id, userId)!.id);
    expect(result.body.user.id).toBe(userId);
  });
});
