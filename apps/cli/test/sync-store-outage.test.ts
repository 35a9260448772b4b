import { randomBytes } from "node:crypto";
import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { openDatabase, runStatus } from "@easel/sync";
import { type PrivateRedis, startPrivateRedis, tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, startEasel, startSim, waitWhileRunning } from "./export-helpers.js";

// `easel sync` with its token record in Redis, and Redis killed mid-run: the run keeps syncing on
// the token in memory, stops with STORE_UNAVAILABLE (exit 1, resumable) once that token expires
// with the store still down, keeps the courses it committed, and a rerun with the store back
// resumes the same run to the end.
const TTL_SECONDS = 10;
// Enough courses that one at a time (about 1.1 s each at the slow fault) they outlast the 10 s token
// on an idle machine too (6 finished in 6.5 s there).
const COURSES = Array.from({ length: 16 }, (_, i) => i + 1);
const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
const schema = `easel_cli_outage_${randomBytes(4).toString("hex")}`;
const db = ["--to", DATABASE_URL, "--schema", schema];

let sim: CanvasSim;
let redis: PrivateRedis;
let home: string;
const pool = await openDatabase(DATABASE_URL);

beforeAll(async () => {
  sim = await startSim({
    seed: 7,
    courses: COURSES.length,
    studentsPerCourse: 20,
    assignmentsPerCourse: 5,
    tokenTtlSeconds: TTL_SECONDS,
    // Slow enough that the courses outlast the token.
    faults: "slow=500:1.0",
  });
  redis = await startPrivateRedis();
  home = tempDir("easel-cli-sync-outage-");
  const migrated = await easel(["sync", "migrate", ...db], {}, home);
  expect(migrated.status, migrated.stderr).toBe(0);
});
afterAll(async () => {
  await redis?.kill();
  await sim?.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

describe("a token store outage mid-sync", () => {
  it("syncs on the valid token, stops with STORE_UNAVAILABLE at expiry keeping finished courses, and resumes", async () => {
    const env = {
      CANVAS_BASE_URL: sim.url,
      CANVAS_CLIENT_ID: sim.clientId,
      CANVAS_CLIENT_SECRET: sim.clientSecret,
      EASEL_FERNET_KEY: generateKey(),
    };
    const store = `${redis.url}?prefix=sync-outage:`;
    const importToken = async () => {
      const record = await (await fetch(`${sim.url}/__sim/oauth/tokens`, { method: "POST" })).text();
      const imported = await easel(["token", "import", "--store", store], env, home, record);
      expect(imported.status, imported.stderr).toBe(0);
    };
    await importToken();
    const args = ["sync", ...db, "--course", COURSES.join(","), "--concurrency", "1"];
    args.push("--kinds", "grades,submissions", "--store", store);
    sim.resetStats();

    const started = performance.now();
    const run = startEasel(args, env, home);
    const courseDone = async () =>
      (await pool.query(`SELECT 1 FROM "${schema}".sync_run_courses WHERE state = 'done'`)).rowCount! >= 1;
    await waitWhileRunning(run, courseDone, "the first course committed");
    await redis.kill();
    const stopped = await run.done;
    const seconds = (performance.now() - started) / 1000;

    expect(stopped.status, stopped.stderr).toBe(1);
    expect(stopped.stderr).toContain("[STORE_UNAVAILABLE]");
    expect(stopped.stderr).toContain("resume");
    expect(stopped.stderr.match(/token store unreachable/g)).toHaveLength(1);
    // It synced on until the token ran out, not just until its refresh window.
    expect(seconds).toBeGreaterThan(TTL_SECONDS * 0.8);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);

    const interrupted = await pool.query(
      `SELECT id, state FROM "${schema}".sync_runs ORDER BY id DESC LIMIT 1`,
    );
    expect(interrupted.rows[0].state).toBe("interrupted");
    const runId = Number(interrupted.rows[0].id);
    const status = await runStatus(pool, schema, runId);
    expect(status.courses.done).toBeGreaterThanOrEqual(1);
    expect(status.courses.done).toBeLessThan(COURSES.length);
    // Finished courses are committed; the others hold nothing from this run.
    const stamped = await pool.query(
      `SELECT DISTINCT course_id FROM "${schema}".grades WHERE sync_run_id = $1`,
      [runId],
    );
    expect(stamped.rows.length).toBe(status.courses.done);

    await redis.restart(); // a fresh, empty server: the record goes back in, then the run resumes
    await importToken();
    sim.faults.clear();
    const resumed = await easel(args, env, home);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain(
      `Run ${runId} succeeded (resumed): ${COURSES.length}/${COURSES.length} courses`,
    );
    const submissions = await pool.query(`SELECT count(*)::int AS n FROM "${schema}".submissions`);
    expect(submissions.rows[0].n).toBe(COURSES.reduce((n, c) => n + sim.data.submissionsCount(c), 0));
  });
});
