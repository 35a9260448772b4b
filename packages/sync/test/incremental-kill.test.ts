import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CanvasClient, staticTokenProvider } from "@easel/canvas-client";
import { type CanvasSim, createCanvasSim, DEFAULT_NOW } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canvasCourseSource, migrate, runSync } from "../src/index.js";
import { courseFingerprints, DATABASE_URL, testDatabase } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/incremental-child.mjs", import.meta.url));
const COURSES = 6;
const COURSE_IDS = Array.from({ length: COURSES }, (_, i) => i + 1);
const ITERATIONS = Number(process.env.EASEL_KILL_ITERATIONS ?? 5);

const db = await testDatabase();
const reference = await testDatabase();
let sim: CanvasSim;
let client: CanvasClient;

beforeAll(async () => {
  sim = await createCanvasSim({
    courses: COURSES,
    studentsPerCourse: 30,
    assignmentsPerCourse: 10,
    seed: 23,
    now: DEFAULT_NOW,
    freezeClock: true,
    throttle: false,
    // Every API answer a little late, so a kill lands inside a run rather than after it.
    faults: "slow=10:1",
  });
  client = new CanvasClient({ baseUrl: sim.url, auth: staticTokenProvider(sim.developerToken) });
  await migrate(db.pool, db.schema);
  await migrate(reference.pool, reference.schema);
});
afterAll(async () => {
  await client?.close();
  await sim?.close();
  await db.drop();
  await reference.drop();
});

const syncInProcess = (target: typeof db, full: boolean) =>
  runSync({
    pool: target.pool,
    schema: target.schema,
    source: canvasCourseSource(client),
    courseIds: COURSE_IDS,
    full,
  });

/** Runs an incremental sync child and SIGKILLs it `extraMs` after `afterCourses` courses committed. */
function runChildAndKill(afterCourses: number, extraMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CHILD, DATABASE_URL, db.schema, sim.url, sim.developerToken, String(COURSES)],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    let stderr = "";
    let courses = 0;
    let armed = false;
    const arm = () => {
      if (armed) return;
      armed = true;
      setTimeout(() => child.kill("SIGKILL"), extraMs);
    };
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.stdout.on("data", (d: Buffer) => {
      for (const line of d.toString().split("\n")) {
        if (line === "started" && afterCourses === 0) arm();
        if (line === "course" && ++courses >= afterCourses) arm();
      }
    });
    child.on("exit", (code, signal) => {
      if (signal === "SIGKILL") resolve("killed");
      else if (code === 0) resolve("finished");
      else reject(new Error(`sync child failed: ${stderr}`));
    });
  });
}

describe("kill -9 during an incremental sync", () => {
  it(`at random moments (${ITERATIONS} days): every course equals the state before or after, never a mix; the next run completes it`, async () => {
    await syncInProcess(db, false);
    const outcomes: string[] = [];
    for (let i = 0; i < ITERATIONS; i++) {
      sim.advanceClock(86_400);
      sim.admin.applyActivity({ fraction: 0.03, seed: 100 + i });
      const before = await courseFingerprints(db.pool, db.schema);
      await syncInProcess(reference, true);
      const after = await courseFingerprints(reference.pool, reference.schema);
      const outcome = await runChildAndKill(i % COURSES, Math.floor(Math.random() * 60));
      const now = await courseFingerprints(db.pool, db.schema);
      let atTarget = 0;
      for (const course of COURSE_IDS) {
        expect([before.get(course), after.get(course)], `day ${i + 1}, course ${course}`).toContain(
          now.get(course),
        );
        if (now.get(course) === after.get(course) && after.get(course) !== before.get(course)) atTarget++;
      }
      outcomes.push(`${outcome}:${atTarget}/${COURSES}`);
      // The next nightly run picks up where the killed one stopped (its high-water marks did not move).
      const rerun = await syncInProcess(db, false);
      expect(rerun.status.state).toBe("succeeded");
      expect(rerun.status.incrementalCourses).toBe(COURSES);
      expect(await courseFingerprints(db.pool, db.schema), `day ${i + 1} after the rerun`).toEqual(after);
    }
    console.log(`incremental kill test outcomes: ${outcomes.join(",")}`);
    expect(outcomes.some((o) => /^killed:[1-9]\d*\//.test(o) && !o.endsWith(`:${COURSES}/${COURSES}`))).toBe(
      true,
    );
  }, 360_000);
});
