import { access, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CanvasClient } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type ExportClient,
  ExportError,
  type ExportKind,
  exportCourses,
  exportPaths,
  readCheckpoint,
} from "../src/index.js";
import { clientFor, parseExport, startSim } from "./helpers.js";

let sim: CanvasSim;
let client: CanvasClient;
let dir: string;
const COURSES = [1, 2, 3, 4, 5, 6];
const clean = new Map<ExportKind, Buffer>();

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function cleanRun(kind: ExportKind): Promise<Buffer> {
  let bytes = clean.get(kind);
  if (!bytes) {
    const out = join(dir, `${kind}.clean.csv`);
    await exportCourses({ client, kind, courseIds: COURSES, format: "csv", output: out });
    bytes = await readFile(out);
    clean.set(kind, bytes);
  }
  return bytes;
}

async function rejection(promise: Promise<unknown>): Promise<ExportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExportError);
  return error as ExportError;
}

/** The partial keeps exactly the clean run's bytes for every course the checkpoint calls complete. */
async function expectCheckpointHonest(out: string, reference: Buffer): Promise<number> {
  const paths = exportPaths(out);
  const checkpoint = await readCheckpoint(paths.checkpoint);
  expect(checkpoint).toBeDefined();
  const partial = await readFile(paths.partial);
  const committed = checkpoint!.completed.at(-1)?.bytes ?? checkpoint!.headerBytes;
  expect(partial.length).toBeGreaterThanOrEqual(committed);
  expect(partial.subarray(0, committed).equals(reference.subarray(0, committed))).toBe(true);
  expect(checkpoint!.completed.map((c) => c.id)).toEqual(COURSES.slice(0, checkpoint!.completed.length));
  return checkpoint!.completed.length;
}

beforeAll(async () => {
  sim = await startSim({ seed: 3 });
  client = clientFor(sim);
  dir = tempDir("easel-export-test-");
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

describe("a forbidden course", () => {
  it("fails the run by default, keeping a resumable partial; resume after access is granted is exact", async () => {
    const reference = await cleanRun("grades");
    const out = join(dir, "forbidden.csv");
    sim.admin.setCourseForbidden(sim.data.adminUserId, 4, true);
    try {
      const error = await rejection(
        exportCourses({
          client,
          kind: "grades",
          courseIds: COURSES,
          format: "csv",
          output: out,
          concurrency: 2,
        }),
      );
      expect(error.code).toBe("EXPORT_COURSE_FORBIDDEN");
      expect(error.courseId).toBe(4);
      expect(error.resumable).toBe(true);
      expect(error.message).toContain("course 4");
      expect(await exists(out)).toBe(false);
      expect(await exists(`${out}.partial`)).toBe(true);
      expect(await expectCheckpointHonest(out, reference)).toBeLessThanOrEqual(3);
    } finally {
      sim.admin.setCourseForbidden(sim.data.adminUserId, 4, false);
    }
    const summary = await exportCourses({
      client,
      kind: "grades",
      courseIds: COURSES,
      format: "csv",
      output: out,
      concurrency: 5,
      resume: true,
    });
    expect(summary.coursesResumed).toBeGreaterThan(0);
    expect((await readFile(out)).equals(reference)).toBe(true);
    expect(await exists(`${out}.partial`)).toBe(false);
    expect(await exists(`${out}.checkpoint.json`)).toBe(false);
  });

  it("with skipForbidden is left out and listed, every other row present", async () => {
    const reference = await cleanRun("submissions");
    const out = join(dir, "skip.csv");
    sim.admin.setCourseForbidden(sim.data.adminUserId, 3, true);
    try {
      const summary = await exportCourses({
        client,
        kind: "submissions",
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 4,
        skipForbidden: true,
      });
      expect(summary.skipped).toEqual([{ id: 3, code: "CANVAS_FORBIDDEN", message: expect.any(String) }]);
      expect(summary.coursesExported).toBe(5);
      const want = parseExport(reference.toString("utf8"), "csv").filter((row) => row.course_id !== "3");
      expect(parseExport(await readFile(out, "utf8"), "csv")).toEqual(want);
    } finally {
      sim.admin.setCourseForbidden(sim.data.adminUserId, 3, false);
    }
  });

  it("that becomes forbidden mid-course takes back the rows it already wrote", async () => {
    // A bigger course, so rows reach the output before the 403: 350 students x 8 assignments, read
    // in grouped pages of 100 students (800 submissions) each.
    const big = await startSim({ seed: 5, courses: 3, studentsPerCourse: 350, assignmentsPerCourse: 8 });
    const bigClient = clientFor(big);
    try {
      const refOut = join(dir, "big.ref.csv");
      await exportCourses({
        client: bigClient,
        kind: "submissions",
        courseIds: [1, 2, 3],
        format: "csv",
        output: refOut,
      });
      const reference = parseExport(await readFile(refOut, "utf8"), "csv");
      // Forbid course 2 once its 50th student has been read (800 rows arrived, page 2 perhaps
      // prefetched): pages 3 and 4 get 403.
      let seen = 0;
      const flipping: ExportClient = {
        request: bigClient.request.bind(bigClient),
        stats: bigClient.stats.bind(bigClient),
        resolve: bigClient.resolve.bind(bigClient),
        options: bigClient.options,
        paginate: async function* <T>(...args: Parameters<CanvasClient["paginate"]>) {
          for await (const item of bigClient.paginate<T>(...args)) {
            if (args[0].includes("/courses/2/students/submissions") && ++seen === 50) {
              big.admin.setCourseForbidden(big.data.adminUserId, 2, true);
            }
            yield item;
          }
        } as CanvasClient["paginate"],
      };
      const out = join(dir, "big.skip.csv");
      const summary = await exportCourses({
        client: flipping,
        kind: "submissions",
        courseIds: [1, 2, 3],
        format: "csv",
        output: out,
        concurrency: 1,
        skipForbidden: true,
      });
      expect(seen).toBeGreaterThanOrEqual(50);
      expect(summary.skipped.map((s) => s.id)).toEqual([2]);
      const rows = parseExport(await readFile(out, "utf8"), "csv");
      expect(rows).toEqual(reference.filter((row) => row.course_id !== "2"));
    } finally {
      await bigClient.close();
      await big.close();
    }
  });
});

describe("a token revoked mid-export", () => {
  it("stops with EXPORT_REAUTH_REQUIRED, keeps the partial, and resumes exactly with a new token", async () => {
    const reference = await cleanRun("submissions");
    const out = join(dir, "revoked.csv");
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "revoke test" });
    const doomed = clientFor(sim, token);
    let revoked = false;
    const error = await rejection(
      exportCourses({
        client: doomed,
        kind: "submissions",
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 2,
        checkpointIntervalMs: 0,
        onProgress: (p) => {
          if (!revoked && p.coursesDone >= 2) revoked = sim.admin.revokeToken(token);
        },
      }),
    );
    await doomed.close();
    expect(revoked).toBe(true);
    expect(error.code).toBe("EXPORT_REAUTH_REQUIRED");
    expect(error.resumable).toBe(true);
    expect(error.partialPath).toBe(`${out}.partial`);
    expect((error.cause as { code?: string }).code).toBe("REAUTH_REQUIRED");
    expect(error.message).not.toContain(token);
    expect(await exists(out)).toBe(false);
    const done = await expectCheckpointHonest(out, reference);
    expect(done).toBeGreaterThanOrEqual(2);

    const fresh = clientFor(sim, sim.admin.createDeveloperToken({ userId: sim.data.adminUserId }));
    try {
      const summary = await exportCourses({
        client: fresh,
        kind: "submissions",
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 3,
        resume: true,
      });
      expect(summary.coursesResumed).toBe(done);
      expect(summary.rows).toBe(parseExport(reference.toString("utf8"), "csv").length);
    } finally {
      await fresh.close();
    }
    expect((await readFile(out)).equals(reference)).toBe(true);
  });
});

describe("cancellation and checkpoints", () => {
  it("an aborted run is resumable and the resumed file is exact", async () => {
    const reference = await cleanRun("enrollments");
    const out = join(dir, "aborted.csv");
    const controller = new AbortController();
    const error = await rejection(
      exportCourses({
        client,
        kind: "enrollments",
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 1,
        signal: controller.signal,
        onProgress: (p) => {
          if (p.coursesDone >= 3) controller.abort();
        },
      }),
    );
    expect(error.code).toBe("EXPORT_ABORTED");
    expect(error.resumable).toBe(true);
    expect(await expectCheckpointHonest(out, reference)).toBe(3);
    await exportCourses({
      client,
      kind: "enrollments",
      courseIds: COURSES,
      format: "csv",
      output: out,
      resume: true,
    });
    expect((await readFile(out)).equals(reference)).toBe(true);
  });

  it("resume refuses a checkpoint of another export, and one that lies about the partial", async () => {
    const out = join(dir, "mismatch.csv");
    const controller = new AbortController();
    controller.abort();
    await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: COURSES,
        format: "csv",
        output: out,
        signal: controller.signal,
      }),
    );
    // An aborted-before-start run writes nothing; make a real interrupted one.
    const stop = new AbortController();
    await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 1,
        signal: stop.signal,
        onProgress: (p) => p.coursesDone >= 2 && stop.abort(),
      }),
    );
    const other = await rejection(
      exportCourses({
        client,
        kind: "submissions",
        courseIds: COURSES,
        format: "csv",
        output: out,
        resume: true,
      }),
    );
    expect(other.code).toBe("EXPORT_CHECKPOINT_MISMATCH");
    const fewer = await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1, 2, 3],
        format: "csv",
        output: out,
        resume: true,
      }),
    );
    expect(fewer.code).toBe("EXPORT_CHECKPOINT_MISMATCH");

    const paths = exportPaths(out);
    const size = (await stat(paths.partial)).size;
    await writeFile(paths.partial, (await readFile(paths.partial)).subarray(0, 10));
    const short = await rejection(
      exportCourses({ client, kind: "grades", courseIds: COURSES, format: "csv", output: out, resume: true }),
    );
    expect(short.code).toBe("EXPORT_CHECKPOINT_INVALID");
    expect(size).toBeGreaterThan(10);

    await writeFile(paths.checkpoint, "{ not json");
    const garbled = await rejection(
      exportCourses({ client, kind: "grades", courseIds: COURSES, format: "csv", output: out, resume: true }),
    );
    expect(garbled.code).toBe("EXPORT_CHECKPOINT_INVALID");

    // Without --resume the leftovers are discarded and the export starts over.
    await exportCourses({ client, kind: "grades", courseIds: COURSES, format: "csv", output: out });
    expect((await readFile(out)).equals(await cleanRun("grades"))).toBe(true);
    expect(await exists(paths.checkpoint)).toBe(false);
    expect(await exists(paths.spoolDir)).toBe(false);
  });

  it("resume without a checkpoint simply runs the whole export", async () => {
    const out = join(dir, "fresh-resume.csv");
    const summary = await exportCourses({
      client,
      kind: "grades",
      courseIds: COURSES,
      format: "csv",
      output: out,
      resume: true,
    });
    expect(summary.coursesResumed).toBe(0);
    expect((await readFile(out)).equals(await cleanRun("grades"))).toBe(true);
  });

  it("reports progress: courses, rows and client counters", async () => {
    const seen: number[] = [];
    let last: { rows: number; coursesTotal: number; requests: number } | undefined;
    await exportCourses({
      client,
      kind: "grades",
      courseIds: COURSES,
      format: "ndjson",
      output: join(dir, "progress.ndjson"),
      concurrency: 2,
      onProgress: (p) => {
        seen.push(p.coursesDone);
        last = { rows: p.rows, coursesTotal: p.coursesTotal, requests: p.client.requests };
      },
    });
    expect(seen.at(-1)).toBe(COURSES.length);
    expect(seen).toEqual([...seen].sort((a, b) => a - b));
    expect(last).toMatchObject({ rows: COURSES.length * 40, coursesTotal: 6 });
    expect(last!.requests).toBeGreaterThan(0);
  });

  it("validates its options with TypeErrors naming the option", async () => {
    const base = {
      client,
      kind: "grades" as const,
      courseIds: [1],
      format: "csv" as const,
      output: join(dir, "x.csv"),
    };
    await expect(exportCourses({ ...base, kind: "quizzes" as never })).rejects.toThrow(/"kind"/);
    await expect(exportCourses({ ...base, format: "xlsx" as never })).rejects.toThrow(/"format"/);
    await expect(exportCourses({ ...base, courseIds: [1, -2] })).rejects.toThrow(/"courseIds"/);
    await expect(exportCourses({ ...base, concurrency: 0 })).rejects.toThrow(/"concurrency"/);
    await expect(exportCourses({ ...base, output: "-" })).rejects.toThrow(/"output"/);
  });

  it("an output that cannot be created fails with EXPORT_OUTPUT_FAILED", async () => {
    const error = await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1],
        format: "csv",
        output: join(dir, "no/such/dir/x.csv"),
      }),
    );
    expect(error.code).toBe("EXPORT_OUTPUT_FAILED");
    expect((error.cause as NodeJS.ErrnoException).code).toBe("ENOENT");
  });
});
