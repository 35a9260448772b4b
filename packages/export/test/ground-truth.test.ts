import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import type { CanvasClient, Submission } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { columnsOf, EXPORT_KINDS, exportCourses, rowsForCourse } from "../src/index.js";
import { inAssignmentOrder, rowBatchesForCourse } from "../src/kinds.js";
import { asFormat, clientFor, expectedRows, parseExport, startSim } from "./helpers.js";

let sim: CanvasSim;
let client: CanvasClient;
let dir: string;
const COURSES = [1, 2, 3, 4, 5, 6];

beforeAll(async () => {
  sim = await startSim();
  client = clientFor(sim);
  dir = tempDir("easel-export-test-");
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

describe.each(EXPORT_KINDS)("kind %s", (kind) => {
  it.each(["csv", "ndjson"] as const)(
    "%s equals the simulator's ground truth, byte-identical at concurrency 1 and 8",
    async (format) => {
      const outputs: Buffer[] = [];
      for (const concurrency of [1, 8]) {
        const out = join(dir, `${kind}-${concurrency}.${format}`);
        // Shuffled input: the output order must not depend on it.
        const summary = await exportCourses({
          client,
          kind,
          courseIds: [4, 2, 6, 1, 5, 3, 2],
          format,
          output: out,
          concurrency,
        });
        expect(summary.coursesExported).toBe(COURSES.length);
        expect(summary.skipped).toEqual([]);
        outputs.push(await readFile(out));
      }
      expect(outputs[1]!.equals(outputs[0]!)).toBe(true);

      const text = outputs[0]!.toString("utf8");
      const expected = expectedRows(sim, kind, COURSES);
      expect(expected.length).toBeGreaterThan(0);
      const parsed = parseExport(text, format);
      expect(parsed).toHaveLength(expected.length);
      expect(parsed).toEqual(asFormat(expected, format, kind));
      if (format === "csv") {
        expect(text.startsWith(`${columnsOf(kind).join(",")}\r\n`)).toBe(true);
        expect(text.replaceAll("\r\n", "").includes("\n")).toBe(
          expected.some((row) => Object.values(row).some((v) => typeof v === "string" && v.includes("\n"))),
        );
      } else {
        for (const row of parsed) expect(Object.keys(row)).toEqual(columnsOf(kind));
      }
    },
  );
});

describe("data that needs quoting", () => {
  it("the simulator's names with commas, quotes and non-Latin text survive CSV", async () => {
    const expected = expectedRows(sim, "grades", COURSES);
    const names = expected.map((row) => String(row.sortable_name));
    // Sortable names are "Last, First": every one needs quoting; some also carry quotes or other scripts.
    expect(names.some((name) => name.includes('"'))).toBe(true);
    expect(names.some((name) => /[^\p{Script=Latin}\p{P}\p{Zs}]/u.test(name))).toBe(true);
    const text = await readFile(join(dir, "grades-1.csv"), "utf8");
    const parsed = parseExport(text, "csv");
    expect(parsed.map((row) => row.sortable_name)).toEqual(names);
    expect(text).toContain('""');
  });
});

describe("rowsForCourse", () => {
  it("streams one course's rows in Canvas's order with the kind's columns as keys", async () => {
    const rows = [];
    for await (const row of rowsForCourse(client, "submissions", 2)) rows.push(row);
    expect(rows).toEqual(expectedRows(sim, "submissions", [2]));
    expect(Object.keys(rows[0]!)).toEqual(columnsOf("submissions"));
  });

  it("uses the fewest requests: the assignments, then one grouped page of 40 students x 6 assignments", async () => {
    sim.resetStats();
    let count = 0;
    for await (const _ of rowsForCourse(client, "submissions", 3)) count++;
    // 40 students x 6 assignments = 240 submissions: 3 flat pages of 100, or 1 grouped page.
    expect(count).toBe(240);
    expect(sim.stats().requests.byRoute).toEqual({
      "GET /api/v1/courses/:course_id/assignments": 1,
      "GET /api/v1/courses/:course_id/students/submissions": 1,
    });
  });

  it("rowBatchesForCourse: the same rows, a Canvas page per batch for submissions, one row each otherwise", async () => {
    for (const kind of EXPORT_KINDS) {
      const rows = [];
      for await (const row of rowsForCourse(client, kind, 3)) rows.push(row);
      const batches = [];
      sim.resetStats();
      for await (const batch of rowBatchesForCourse(client, kind, 3)) batches.push(batch);
      expect(batches.flat()).toEqual(rows);
      // 40 students x 6 assignments = 240 submissions: the plan reads them as one grouped page of
      // up to 100 students (6 assignments allow 166 a page), so one batch, one submissions request.
      expect(batches.map((b) => b.length)).toEqual(kind === "submissions" ? [240] : rows.map(() => 1));
      if (kind === "submissions") {
        expect(sim.stats().requests.byRoute["GET /api/v1/courses/:course_id/students/submissions"]).toBe(
          batches.length,
        );
      }
    }
    expect(() => rowBatchesForCourse(client, "submissions", 0)).toThrow(/courseId/);
  });

  it("attendance is empty-valued for a course without a Roll Call assignment", async () => {
    const rows = [];
    for await (const row of rowsForCourse(client, "attendance", 2)) rows.push(row);
    expect(rows.length).toBe(40);
    expect(rows.every((row) => row.roll_call_assignment_id === null && row.roll_call_score === null)).toBe(
      true,
    );
    const odd = [];
    for await (const row of rowsForCourse(client, "attendance", 1)) odd.push(row);
    expect(odd.every((row) => typeof row.roll_call_assignment_id === "number")).toBe(true);
    expect(
      odd.some((row) => typeof row.roll_call_grade === "string" && row.roll_call_grade.endsWith("%")),
    ).toBe(true);
  });

  it("refuses an unknown kind or a bad course id", () => {
    expect(() => rowsForCourse(client, "quizzes" as never, 1)).toThrow(TypeError);
    expect(() => rowsForCourse(client, "grades", 0)).toThrow(/courseId/);
  });
});

describe("stream output", () => {
  it("writes the same bytes to a stream as to a file", async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on("data", (chunk: Buffer) => chunks.push(chunk));
    await exportCourses({
      client,
      kind: "submissions",
      courseIds: COURSES,
      format: "ndjson",
      output: sink,
      concurrency: 4,
    });
    const file = await readFile(join(dir, "submissions-1.ndjson"));
    expect(Buffer.concat(chunks).equals(file)).toBe(true);
  });

  it("refuses resume without a file", async () => {
    await expect(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1],
        format: "csv",
        output: new PassThrough(),
        resume: true,
      }),
    ).rejects.toThrow(/resume/);
  });
});

describe("inAssignmentOrder", () => {
  // Assignment ids 30, 10, 20 in Canvas's order: places 0, 1, 2.
  const order = new Map([
    [30, 0],
    [10, 1],
    [20, 2],
  ]);
  const submission = (id: number, assignment_id: number) => ({ id, assignment_id, user_id: 7 }) as Submission;

  it("puts each submission at its assignment's place, skipping assignments the student lacks", () => {
    const sorted = inAssignmentOrder([submission(1, 20), submission(2, 30)], order);
    expect(sorted.map((s) => s.id)).toEqual([2, 1]);
    const all = inAssignmentOrder([submission(1, 20), submission(2, 10), submission(3, 30)], order);
    expect(all.map((s) => s.assignment_id)).toEqual([30, 10, 20]);
  });

  it("falls back to the sort for an assignment missing from the list (last, by id) or a second submission for one", () => {
    const unknown = inAssignmentOrder(
      [submission(1, 99), submission(2, 20), submission(3, 50), submission(4, 30)],
      order,
    );
    expect(unknown.map((s) => s.assignment_id)).toEqual([30, 20, 50, 99]);
    const twice = inAssignmentOrder([submission(1, 20), submission(2, 30), submission(3, 20)], order);
    expect(twice.map((s) => s.id)).toEqual([2, 1, 3]);
  });
});
