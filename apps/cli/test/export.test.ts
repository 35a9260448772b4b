import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, libraryExport, startSim } from "./export-helpers.js";

let sim: CanvasSim;
let dir: string;
let env: Record<string, string>;
const COURSES = [1, 2, 3, 4, 5, 6, 7, 8];

beforeAll(async () => {
  sim = await startSim();
  dir = tempDir("easel-cli-export-");
  env = { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken };
});

afterAll(async () => {
  await sim?.close();
});

describe("easel export --help", () => {
  it("teaches by example", async () => {
    const { status, stdout } = await easel(["export", "--help"], {}, dir);
    expect(status).toBe(0);
    expect(stdout).toContain("Examples:");
    expect(stdout).toMatch(/easel export grades --all-courses .*--term \d+ --format csv --out \S+/);
    expect(stdout).toMatch(/--format ndjson \| jq/);
    expect(stdout).toMatch(/--resume/);
    for (const kind of [
      "courses",
      "enrollments",
      "grades",
      "submissions",
      "assignments",
      "attendance",
      "engagement",
    ]) {
      expect(stdout).toContain(kind);
    }
  });
});

describe("easel export to a file", () => {
  it("writes what the library writes, and a one-line summary on stderr", async () => {
    const out = join(dir, "grades.csv");
    const { status, stdout, stderr } = await easel(
      [
        "export",
        "grades",
        "--course",
        "3,1",
        "--course",
        "2",
        "4",
        "5",
        "6",
        "7",
        "8",
        "--format",
        "csv",
        "--out",
        out,
        "--concurrency",
        "8",
      ],
      env,
      dir,
    );
    expect(stderr).toMatch(/^easel: exported 320 grades rows from 8\/8 courses to .*grades\.csv \(csv\) in /);
    expect(stderr.trim().split("\n")).toHaveLength(1);
    expect(status).toBe(0);
    expect(stdout).toBe("");
    const reference = join(dir, "grades.ref.csv");
    await libraryExport(sim, "grades", COURSES, "csv", reference);
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true);
  });

  it("--all-courses --account --term exports exactly that term's courses", async () => {
    const out = join(dir, "term.ndjson");
    const { status, stderr } = await easel(
      [
        "export",
        "courses",
        "--all-courses",
        "--account",
        "1",
        "--term",
        "3",
        "--format",
        "ndjson",
        "--out",
        out,
      ],
      env,
      dir,
    );
    expect(status, stderr).toBe(0);
    const ids = (await readFile(out, "utf8"))
      .trim()
      .split("\n")
      .map((line) => (JSON.parse(line) as { course_id: number; enrollment_term_id: number }).course_id);
    const expected = sim.data
      .courses()
      .filter((course) => course.enrollment_term_id === 3)
      .map((course) => course.id);
    expect(expected.length).toBeGreaterThan(0);
    expect(ids).toEqual(expected);
  });
});

describe("easel export to stdout", () => {
  it("streams NDJSON to stdout; --quiet leaves stderr empty", async () => {
    const { status, stdout, stderr } = await easel(
      ["export", "submissions", "--course", "1", "--course", "2", "--format", "ndjson", "--quiet"],
      env,
      dir,
    );
    expect(status).toBe(0);
    expect(stderr).toBe("");
    const lines = stdout.trim().split("\n");
    expect(lines).toHaveLength(2 * 40 * 6);
    expect(JSON.parse(lines[0]!)).toMatchObject({ course_id: 1, submission_id: expect.any(Number) });
    expect(JSON.parse(lines.at(-1)!)).toMatchObject({ course_id: 2 });
  });
});

describe("usage errors exit 2", () => {
  it("names what is wrong for each bad combination (run side by side)", async () => {
    const cases: Array<[string[], Record<string, string>, RegExp]> = [
      [["export", "grades", "--format", "csv"], env, /--course ID\.\.\. or --all-courses/],
      [
        ["export", "grades", "--course", "1", "--all-courses", "--format", "csv"],
        env,
        /either --course or --all-courses/,
      ],
      [
        ["export", "grades", "--course", "1", "--format", "csv", "--resume"],
        env,
        /--resume needs --out FILE/,
      ],
      [
        ["export", "grades", "--course", "1", "--term", "2", "--format", "csv"],
        env,
        /--term and --account go with --all-courses/,
      ],
      [["export", "grades", "--course", "1"], env, /--format/],
      [["export", "quizzes", "--course", "1", "--format", "csv"], env, /quizzes/],
      [["export", "grades", "--course", "x", "--format", "csv"], env, /positive integer/],
      [["export", "grades", "--course", "1", "--format", "csv"], {}, /CANVAS_BASE_URL/],
    ];
    const results = await Promise.all(cases.map(([args, caseEnv]) => easel(args, caseEnv, dir)));
    results.forEach((result, i) => {
      const [args, , message] = cases[i]!;
      expect(result.stderr, args.join(" ")).toMatch(message);
      expect(result.status, args.join(" ")).toBe(2);
    });
  });
});

describe("a course the token may not read", () => {
  it("fails the run (exit 1) naming the course, with the resume command; --skip-forbidden lists and skips it", async () => {
    sim.admin.setCourseForbidden(sim.data.adminUserId, 3, true);
    try {
      const out = join(dir, "forbidden.csv");
      const failed = await easel(
        ["export", "grades", "--course", "1,2,3,4", "--format", "csv", "--out", out],
        env,
        dir,
      );
      expect(failed.status).toBe(1);
      expect(failed.stderr).toContain("[EXPORT_COURSE_FORBIDDEN]");
      expect(failed.stderr).toContain("course 3");
      expect(failed.stderr).toContain("--skip-forbidden");
      expect(failed.stderr).toContain(
        `easel export grades --course 1,2,3,4 --format csv --out ${out} --resume`,
      );
      expect(failed.stderr).not.toContain(sim.developerToken);

      const skipped = await easel(
        ["export", "grades", "--course", "1,2,3,4", "--format", "csv", "--out", out, "--skip-forbidden"],
        env,
        dir,
      );
      expect(skipped.status, skipped.stderr).toBe(0);
      expect(skipped.stderr).toMatch(/skipped course 3: \[CANVAS_FORBIDDEN\]/);
      expect(skipped.stderr).toMatch(/from 3\/4 courses, 1 skipped \(3\)/);
      const reference = join(dir, "forbidden.ref.csv");
      await libraryExport(sim, "grades", [1, 2, 4], "csv", reference);
      expect((await readFile(out)).equals(await readFile(reference))).toBe(true);
    } finally {
      sim.admin.setCourseForbidden(sim.data.adminUserId, 3, false);
    }
  });
});
