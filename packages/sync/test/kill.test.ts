import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { migrate, runSync } from "../src/index.js";
import { KILL_TEST_SHAPE } from "./fixtures/fake-source.mjs";
import { courseFingerprints, DATABASE_URL, fakeSource, runStampsPerCourse, testDatabase } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/sync-child.mjs", import.meta.url));
const COURSES = 6;
const ITERATIONS = Number(process.env.EASEL_KILL_ITERATIONS ?? 12);

const db = await testDatabase();
const reference = await testDatabase();
afterAll(async () => {
  await db.drop();
  await reference.drop();
});

/** Every course's rows after a complete sync of `version`, computed in a separate schema. */
async function expectedState(version: number): Promise<Map<number, string>> {
  const courseIds = Array.from({ length: COURSES }, (_, i) => i + 1);
  await runSync({
    pool: reference.pool,
    schema: reference.schema,
    source: fakeSource({ version, ...KILL_TEST_SHAPE }),
    courseIds,
    resume: false,
  });
  return courseFingerprints(reference.pool, reference.schema);
}

/**
 * Runs a sync child and kills it with SIGKILL after `afterCourses` courses committed plus
 * `extraMs`: anchored to progress, not wall time, so the kill lands mid-run on a slow or busy
 * machine too (in a fetch, in a swap transaction, or between courses).
 */
function runChildAndKill(version: number, afterCourses: number, extraMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [CHILD, DATABASE_URL, db.schema, String(version), String(COURSES)],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
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

describe("kill -9 during a sync", () => {
  it(`at random moments (${ITERATIONS} runs): every course equals the state before or after the run, never a mix`, async () => {
    await migrate(db.pool, db.schema);
    await migrate(reference.pool, reference.schema);
    const states = new Map<number, Map<number, string>>([
      [1, await expectedState(1)],
      [2, await expectedState(2)],
    ]);
    await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource({ version: 1, ...KILL_TEST_SHAPE }),
      courseIds: [1, 2, 3, 4, 5, 6],
    });
    const outcomes: string[] = [];
    let version = 2;
    for (let i = 0; i < ITERATIONS; i++) {
      const outcome = await runChildAndKill(version, i % COURSES, Math.floor(Math.random() * 40));
      const now = await courseFingerprints(db.pool, db.schema);
      let atTarget = 0;
      for (let course = 1; course <= COURSES; course++) {
        if (now.get(course) === states.get(version)!.get(course)) atTarget++;
        const fingerprint = now.get(course);
        expect([states.get(1)!.get(course), states.get(2)!.get(course)]).toContain(fingerprint);
      }
      outcomes.push(`${outcome}:${atTarget}/${COURSES}`);
      // Flip the data once every course has it, so each run has something to change.
      if (atTarget === COURSES) version = version === 1 ? 2 : 1;
      for (const [course, runs] of await runStampsPerCourse(db.pool, db.schema)) {
        expect(runs, `course ${course} mixes runs`).toHaveLength(1);
      }
    }
    console.log(`kill test outcomes: ${outcomes.join(",")}`);
    // The test is only meaningful if some runs were really cut short.
    // Some kill must land after a course committed and before the run finished.
    expect(outcomes.some((o) => /^killed:[1-9]\d*\//.test(o) && !o.endsWith(`:${COURSES}/${COURSES}`))).toBe(
      true,
    );
  }, 120_000);
});
