import { spawn } from "node:child_process";
import { once } from "node:events";
import { access, mkdir, readdir, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { CanvasClient } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkExportOutput, ExportError, exportCourses, exportPaths } from "../src/index.js";
import { clientFor, startSim } from "./helpers.js";

let sim: CanvasSim;
let client: CanvasClient;
let dir: string;

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

async function rejection(promise: Promise<unknown>): Promise<ExportError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ExportError);
  return error as ExportError;
}

async function requestsSoFar(): Promise<number> {
  return ((await (await fetch(`${sim.url}/__sim/stats`)).json()) as { requests: { total: number } }).requests
    .total;
}

/** The pid of a process that has exited (its lock is stale). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ["-e", ""], { stdio: "ignore" });
  await once(child, "exit");
  return child.pid!;
}

beforeAll(async () => {
  sim = await startSim();
  client = clientFor(sim);
  dir = tempDir("easel-export-test-");
});

afterAll(async () => {
  await client?.close();
  await sim?.close();
});

describe("export files hold student records", () => {
  it("are created 0600 (output, and the partial and checkpoint of a stopped run), whatever an earlier run left", async () => {
    const out = join(dir, "grades.csv");
    // An earlier version's world-readable leftovers must not pass their mode on.
    await writeFile(`${out}.partial`, "old", { mode: 0o644 });
    await exportCourses({ client, kind: "grades", courseIds: [1, 2], format: "csv", output: out });
    expect(await modeOf(out)).toBe(0o600);

    const stopped = join(dir, "stopped.csv");
    const abort = new AbortController();
    const failure = await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1, 2, 3],
        format: "csv",
        output: stopped,
        onProgress: () => abort.abort(new Error("stop")),
        progressIntervalMs: 10,
        signal: abort.signal,
      }),
    );
    expect(failure.resumable).toBe(true);
    expect(await modeOf(`${stopped}.partial`)).toBe(0o600);
    expect(await modeOf(`${stopped}.checkpoint.json`)).toBe(0o600);
  });

  it("take another mode when told (fileMode)", async () => {
    const out = join(dir, "shared.csv");
    await exportCourses({
      client,
      kind: "courses",
      courseIds: [1],
      format: "csv",
      output: out,
      fileMode: 0o640,
    });
    expect(await modeOf(out)).toBe(0o640);
  });
});

describe("the output is checked before any Canvas request", () => {
  it("a missing directory (EXPORT_OUTPUT_FAILED) or a directory as output (EXPORT_OUTPUT_INVALID): nothing is fetched", async () => {
    const before = await requestsSoFar();
    const missing = await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1],
        format: "csv",
        output: join(dir, "no", "x.csv"),
      }),
    );
    expect(missing.code).toBe("EXPORT_OUTPUT_FAILED");
    expect(missing.message).toContain("does not exist");
    const onDir = join(dir, "a-directory");
    await mkdir(onDir);
    const directory = await rejection(
      exportCourses({ client, kind: "grades", courseIds: [1], format: "csv", output: onDir }),
    );
    expect(directory.code).toBe("EXPORT_OUTPUT_INVALID");
    expect(directory.message).toContain("is a directory");
    expect(await exists(`${onDir}.partial`)).toBe(false);
    expect(await requestsSoFar()).toBe(before);
  });
});

describe("one export per output", () => {
  it("a second export to a locked output fails at once naming the holder's pid, and leaves its files alone", async () => {
    const out = join(dir, "locked.csv");
    const paths = exportPaths(out);
    const holder = { pid: process.pid, host: hostname(), startedAt: new Date().toISOString() };
    await writeFile(paths.lock, JSON.stringify(holder));
    await writeFile(paths.partial, "someone else's rows");
    const before = await requestsSoFar();
    await expect(checkExportOutput(out)).rejects.toMatchObject({ code: "EXPORT_OUTPUT_LOCKED" });
    const failure = await rejection(
      exportCourses({ client, kind: "grades", courseIds: [1], format: "csv", output: out }),
    );
    expect(failure.code).toBe("EXPORT_OUTPUT_LOCKED");
    expect(failure.message).toContain(`pid ${process.pid}`);
    expect(await requestsSoFar()).toBe(before);
    expect(await stat(paths.partial).then((s) => s.size)).toBe("someone else's rows".length);
  });

  it("a lock left by a dead process is taken over, and given up when the export ends", async () => {
    const out = join(dir, "stale.csv");
    const paths = exportPaths(out);
    await writeFile(paths.lock, JSON.stringify({ pid: await deadPid(), host: hostname(), startedAt: "" }));
    await checkExportOutput(out);
    await exportCourses({ client, kind: "courses", courseIds: [1], format: "csv", output: out });
    expect(await exists(out)).toBe(true);
    expect(await exists(paths.lock)).toBe(false);
  });

  it("of two exports started together to one file, exactly one runs", async () => {
    const out = join(dir, "race.csv");
    const runs = await Promise.allSettled(
      [0, 1].map(() =>
        exportCourses({ client, kind: "courses", courseIds: [1, 2], format: "csv", output: out }),
      ),
    );
    expect(runs.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    const refused = runs.find((r) => r.status === "rejected") as PromiseRejectedResult;
    expect(refused.reason).toMatchObject({ code: "EXPORT_OUTPUT_LOCKED" });
  });
});

describe("a course that does not exist", () => {
  it("is EXPORT_COURSE_NOT_FOUND, not resumable, and leaves no partial, checkpoint or spool", async () => {
    const sub = join(dir, "missing-course");
    await mkdir(sub);
    const out = join(sub, "grades.csv");
    const failure = await rejection(
      exportCourses({
        client,
        kind: "grades",
        courseIds: [1, 999],
        format: "csv",
        output: out,
        concurrency: 2,
      }),
    );
    expect(failure.code).toBe("EXPORT_COURSE_NOT_FOUND");
    expect(failure.courseId).toBe(999);
    expect(failure.message).toMatch(/^Course 999 does not exist, or this token cannot see it/);
    expect(failure.resumable).toBe(false);
    expect(await readdir(sub)).toEqual([]);
  });
});
