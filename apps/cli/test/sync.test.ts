import { randomBytes } from "node:crypto";
import type { CanvasSim } from "@easel/canvas-sim";
import { openTokenStore } from "@easel/config";
import { generateKey } from "@easel/fernet";
import { openDatabase, runStatus } from "@easel/sync";
import { REDIS_URL, requireRedis, tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, type Running, startEasel, startSim } from "./export-helpers.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
// Fails in CI when Redis is down; skips the queue case with a warning elsewhere.
const redisUp = await requireRedis("the CLI's sync workers over a Redis queue");
const schema = `easel_cli_${randomBytes(4).toString("hex")}`;
const pool = await openDatabase(DATABASE_URL);
const home = tempDir("easel-cli-export-");

afterAll(async () => {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

const db = ["--to", DATABASE_URL, "--schema", schema];

async function count(table: string, courseIds: number[]): Promise<number> {
  const result = await pool.query(
    `SELECT count(*)::int AS n FROM "${schema}"."${table}" WHERE course_id = ANY($1)`,
    [courseIds],
  );
  return result.rows[0].n;
}

function truth(sim: CanvasSim, courseIds: number[]) {
  return {
    students: courseIds.reduce((n, c) => n + sim.data.studentIds(c).length, 0),
    submissions: courseIds.reduce((n, c) => n + sim.data.submissionsCount(c), 0),
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

beforeAll(async () => {
  const migrated = await easel(["sync", "migrate", ...db], {}, home);
  expect(migrated.stderr).toBe("");
  expect(migrated.status).toBe(0);
  expect(migrated.stdout).toContain("Applied migration(s) 1");
});

describe("easel sync against the simulator and the real PostgreSQL", () => {
  it("writes exactly the simulator's rows; a second run changes nothing", async () => {
    const sim = await startSim({ courses: 3, studentsPerCourse: 25, assignmentsPerCourse: 6 });
    try {
      const env = { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken };
      const first = await easel(["sync", ...db, "--course", "1,2,3"], env, home);
      expect(first.status, first.stderr).toBe(0);
      expect(first.stderr).toMatch(/Run \d+ succeeded: 3\/3 courses/);
      expect(first.stderr).not.toContain(sim.developerToken);
      const expected = truth(sim, [1, 2, 3]);
      expect(await count("grades", [1, 2, 3])).toBe(expected.students);
      expect(await count("engagement", [1, 2, 3])).toBe(expected.students);
      expect(await count("attendance", [1, 2, 3])).toBe(expected.students);
      expect(await count("submissions", [1, 2, 3])).toBe(expected.submissions);
      expect(await count("courses", [1, 2, 3])).toBe(3);
      const grade = await pool.query(
        `SELECT current_score FROM "${schema}".grades WHERE course_id = 1 AND user_id = $1`,
        [sim.data.studentIds(1)[0]],
      );
      expect(grade.rows[0].current_score).toBe(
        sim.data.grades(1, sim.data.studentIds(1)[0]!)?.current_score ?? null,
      );

      const second = await easel(["sync", ...db, "--course", "1,2,3"], env, home);
      expect(second.status, second.stderr).toBe(0);
      expect(second.stderr).toMatch(/succeeded: 3\/3 courses, \d+ rows, 0 changes/);
      // After a complete run the next one is incremental; --full is the periodic full sweep.
      expect(second.stderr).toMatch(/, 3 incremental,/);
      const sweep = await easel(["sync", ...db, "--course", "1,2,3", "--full"], env, home);
      expect(sweep.status, sweep.stderr).toBe(0);
      expect(sweep.stderr).toMatch(
        /succeeded: 3\/3 courses, \d+ rows, 0 changes, 0 already done, 0 incremental,/,
      );
    } finally {
      await sim.close();
    }
  });

  it("a token revoked half-way: exit 3, finished courses committed, the rest untouched, resume after a new token", async () => {
    const sim = await startSim({ courses: 4, studentsPerCourse: 60, assignmentsPerCourse: 10 });
    // Courses 2-4 answer slowly, so the revocation lands after course 1 and before the end.
    for (const course of [2, 3, 4])
      sim.faults.add({ fault: "slow", route: `/api/v1/courses/${course}/*`, latencyMs: 300 });
    try {
      const courses = ["--course", "1,2,3,4", "--concurrency", "1", "--kinds", "grades,submissions"];
      const env = { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken };
      const before = await pool.query(`SELECT coalesce(max(id), 0)::int AS id FROM "${schema}".sync_runs`);
      const run: Running = startEasel(["sync", ...db, ...courses], env, home);
      // Revoke as soon as this run's first course has committed.
      await waitFor(
        async () =>
          (
            await pool.query(
              `SELECT 1 FROM "${schema}".sync_run_courses WHERE run_id > $1 AND course_id = 1 AND state = 'done'`,
              [before.rows[0].id],
            )
          ).rowCount === 1 || run.exited,
        60_000,
        "course 1",
      );
      sim.admin.revokeToken(sim.developerToken);
      const result = await run.done;
      expect(result.status, result.stderr).toBe(3);
      expect(result.stderr).toContain("Canvas needs a new authorization");
      expect(result.stderr).toContain("resume");
      const interrupted = await pool.query(
        `SELECT id FROM "${schema}".sync_runs WHERE state = 'interrupted' ORDER BY id DESC LIMIT 1`,
      );
      const runId = Number(interrupted.rows[0].id);
      const status = await runStatus(pool, schema, runId);
      expect(status.courses.done).toBeGreaterThanOrEqual(1);
      expect(status.courses.done).toBeLessThan(4);
      // Courses not done hold nothing from this run.
      const stamped = await pool.query(
        `SELECT DISTINCT course_id FROM "${schema}".grades WHERE sync_run_id = $1 ORDER BY course_id`,
        [runId],
      );
      expect(stamped.rows.length).toBe(status.courses.done);

      sim.faults.clear();
      const fresh = sim.admin.createDeveloperToken({ userId: 1 });
      const resumed = await easel(["sync", ...db, ...courses], { ...env, CANVAS_ACCESS_TOKEN: fresh }, home);
      expect(resumed.status, resumed.stderr).toBe(0);
      expect(resumed.stderr).toContain(`Run ${runId} succeeded (resumed): 4/4 courses`);
      expect(await count("submissions", [1, 2, 3, 4])).toBe(truth(sim, [1, 2, 3, 4]).submissions);
    } finally {
      await sim.close();
    }
  });

  it.skipIf(!redisUp)(
    "3 workers over 30 courses with faults: each course once, totals equal the simulator's, one refresh per expiry",
    async () => {
      const sim = await startSim({
        courses: 30,
        studentsPerCourse: 20,
        assignmentsPerCourse: 5,
        faults: "5xx:0.03,drop:0.01",
      });
      const prefix = `easel-cli-sync-${randomBytes(4).toString("hex")}:`;
      const queue = `${REDIS_URL}/0`;
      const fernetKey = generateKey();
      const storeUri = `${REDIS_URL}/0?prefix=${prefix}`;
      const store = await openTokenStore(storeUri, { fernetKeys: fernetKey });
      const workers: Running[] = [];
      try {
        const tokens = sim.admin.mintOAuthTokens({ userId: 1 });
        await store.set("nightly", {
          access_token: tokens.access_token,
          token_type: "Bearer",
          refresh_token: tokens.refresh_token,
          expires_at: Date.now() / 1000 + 3600,
          user: tokens.user,
        });
        const env = {
          CANVAS_BASE_URL: sim.url,
          CANVAS_CLIENT_ID: sim.clientId,
          CANVAS_CLIENT_SECRET: sim.clientSecret,
          EASEL_TOKEN_STORE: storeUri,
          EASEL_TOKEN_KEY: "nightly",
          EASEL_FERNET_KEY: fernetKey,
        };
        for (let i = 0; i < 3; i++) {
          workers.push(startEasel(["worker", ...db, "--queue", queue, "--concurrency", "2"], env, home));
        }
        sim.resetStats();
        const enqueued = await easel(["sync", ...db, "--all-courses", "--queue", queue], env, home);
        expect(enqueued.status, enqueued.stderr).toBe(0);
        const runId = Number(/Run (\d+): enqueued 30 course/.exec(enqueued.stdout)?.[1]);
        expect(runId).toBeGreaterThan(0);

        // Expire every access token mid-run: the fleet must refresh exactly once.
        await waitFor(
          async () => (await runStatus(pool, schema, runId)).courses.done >= 5,
          90_000,
          "5 courses",
        );
        sim.advanceClock(3700);
        await waitFor(
          async () => (await runStatus(pool, schema, runId)).state !== "running",
          120_000,
          "the run",
        );

        const status = await runStatus(pool, schema, runId);
        expect(status.state).toBe("succeeded");
        expect(status.courses).toMatchObject({ total: 30, done: 30 });
        const all = Array.from({ length: 30 }, (_, i) => i + 1);
        expect(await count("grades", all)).toBe(truth(sim, all).students);
        expect(await count("submissions", all)).toBe(truth(sim, all).submissions);
        expect(sim.stats().tokenGrants.refresh_token).toBe(1);
        const perCourse = await pool.query(
          `SELECT course_id, count(DISTINCT sync_run_id)::int AS runs FROM "${schema}".submissions WHERE course_id = ANY($1) GROUP BY course_id`,
          [all],
        );
        expect(perCourse.rows.every((r: { runs: number }) => r.runs === 1)).toBe(true);
      } finally {
        for (const w of workers) w.child.kill("SIGTERM");
        await Promise.all(workers.map((w) => w.done.catch(() => undefined)));
        await store.close();
        await sim.close();
      }
    },
    180_000,
  );
});
