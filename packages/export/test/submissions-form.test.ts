import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { type CanvasClient, canvasEndpoints, type Submission } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsOf, createRowSerializer, exportCourses, submissionRow } from "../src/index.js";
import { clientFor, startSim } from "./helpers.js";

const ASSIGNMENTS = "GET /api/v1/courses/:course_id/assignments";
const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";
// A Canvas-like cost model (seconds of work per request and per row) and a bucket nothing fills.
const COST = { costPerRequest: 0.05, costPerRow: 0.002 };
const COURSES = [1, 2, 3];

/** The course's submissions read in the flat form, as the export would write them (its order). */
async function flatBytes(sim: CanvasSim, client: CanvasClient): Promise<Buffer> {
  const api = canvasEndpoints(client);
  const serializer = createRowSerializer("csv", columnsOf("submissions"));
  let text = serializer.header();
  for (const courseId of COURSES) {
    const place = new Map(sim.data.assignments(courseId).map((a, i) => [a.id as number, i]));
    const rows: Submission[] = [];
    for await (const s of api.submissions.forStudents(courseId, { studentIds: "all" })) rows.push(s);
    rows.sort((a, b) => a.user_id - b.user_id || place.get(a.assignment_id)! - place.get(b.assignment_id)!);
    for (const s of rows) text += serializer.line(submissionRow(courseId, s));
  }
  return Buffer.from(text, "utf8");
}

describe.each([
  // Several assignments: grouped pages (83 students x 12 = 996 submissions a page).
  { assignments: 12, form: "grouped", submissionRequests: 2 },
  // 60 assignments: at most 1,000 submissions a page, so 16 students a page.
  { assignments: 60, form: "grouped", submissionRequests: 10 },
  // One assignment: the flat form, the same requests without the student entries.
  { assignments: 1, form: "flat", submissionRequests: 2 },
])("a course of 150 students x $assignments assignments", ({ assignments, form, submissionRequests }) => {
  let sim: CanvasSim;
  let client: CanvasClient;
  let dir: string;
  beforeAll(async () => {
    sim = await startSim({
      courses: COURSES.length,
      studentsPerCourse: 150,
      assignmentsPerCourse: assignments,
      throttle: { ...COST, hwm: 1e12, maximum: 1e12 },
    });
    client = clientFor(sim);
    dir = tempDir("easel-export-form-");
  });
  afterAll(async () => {
    await client?.close();
    await sim?.close();
  });

  it(`exports through the ${form} form: the same bytes as the flat form, for fewer requests and less cost`, async () => {
    const out = join(dir, "submissions.csv");
    sim.resetStats();
    await exportCourses({ client, kind: "submissions", courseIds: COURSES, format: "csv", output: out });
    const chosen = sim.stats();
    sim.resetStats();
    const flat = await flatBytes(sim, client);
    const flatStats = sim.stats();

    expect((await readFile(out)).equals(flat)).toBe(true);

    const submissions = 150 * assignments;
    // The export: one assignments page per course, then the plan's submission pages.
    expect(chosen.requests.byRoute).toEqual({
      [ASSIGNMENTS]: COURSES.length,
      [SUBMISSIONS]: COURSES.length * submissionRequests,
    });
    const studentEntries = form === "grouped" ? 150 : 0;
    expect(chosen.rows.byRoute[SUBMISSIONS]).toBe(COURSES.length * (submissions + studentEntries));
    expect(chosen.rows.byRoute[ASSIGNMENTS]).toBe(COURSES.length * assignments);
    expect(chosen.cost.total).toBeCloseTo(
      chosen.requests.total * COST.costPerRequest + chosen.rows.total * COST.costPerRow,
      6,
    );

    const flatRequests = COURSES.length * Math.ceil(submissions / 100);
    expect(flatStats.requests.byRoute).toEqual({ [SUBMISSIONS]: flatRequests });
    expect(flatStats.rows.total).toBe(COURSES.length * submissions);
    if (form === "grouped") {
      // Counting the assignments pages it needed to choose, it still costs Canvas less.
      expect(chosen.requests.total).toBeLessThan(flatRequests);
      expect(chosen.cost.total).toBeLessThan(flatStats.cost.total);
    } else {
      // One assignment: the flat walk plus the assignments page it took to know.
      expect(chosen.requests.byRoute[SUBMISSIONS]).toBe(flatRequests);
    }
  });
});
