import { randomBytes } from "node:crypto";
import type { CanvasSim } from "@easel/canvas-sim";
import { openTokenStore } from "@easel/config";
import { generateKey } from "@easel/fernet";
import { openDatabase, runStatus } from "@easel/sync";
import { REDIS_URL, requireRedis, tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, type Running, startEasel, startSim } from "./export-helpers.js";

const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";
// Fails in CI when Redis is down; skips with a warning elsewhere.
const redisUp = await requireRedis("the CLI's workers sharing one token's rate limit");
const pool = await openDatabase(DATABASE_URL);
const home = tempDir("easel-cli-workers-");
const tag = randomBytes(4).toString("hex");
const schemas = { shared: `easel_cli_w_${tag}`, alone: `easel_cli_wa_${tag}` };

const COURSES = 24;
const WORKERS = 4;
// Canvas's own bucket (600, 50 up front, 10 a second), which the workers' pacers assume: 12
// requests in flight fill it, while 4 workers syncing 4 courses each (every list of a course at
// once) allow 8 each (32). Requests are cheap (0.5 units), so the leak itself never binds.
const BUCKET = { hwm: 600, maximum: 800, upFrontCost: 50, outflowPerSecond: 10, costPerRequest: 0.5 };

afterAll(async () => {
  for (const schema of Object.values(schemas)) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.end();
});

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

interface FleetRun {
  throttled: number;
  peakConcurrency: number;
  requests: number;
  /** From the enqueue to the run's end (informative only: never asserted). */
  runMs: number;
  /** "course N" for every course a worker reported it synced ("done"), over all workers. */
  synced: string[];
  workerStderr: string[];
}

describe("easel worker's queue flags", () => {
  it.each([
    [["--shared-pacing", "http://cache:6379"], /--shared-pacing.*expected a redis:\/\/ or rediss:\/\/ URL/],
    [["--queue-name", "a:b"], /--queue-name.*letters, digits/],
  ])("refuses %j with a usage error naming the flag and the fix", async (flags, message) => {
    const result = await easel(
      ["worker", "--to", DATABASE_URL, "--queue", `${REDIS_URL}/0`, ...flags],
      {},
      home,
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});

describe.skipIf(!redisUp)(`${WORKERS} easel workers on one token`, () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({
      courses: COURSES,
      studentsPerCourse: 12,
      assignmentsPerCourse: 3,
      throttle: BUCKET,
    });
    // A network round trip per answer: requests of different workers overlap inside the bucket.
    sim.faults.add({ fault: "slow", latencyMs: 40 });
    for (const schema of Object.values(schemas)) {
      const migrated = await easel(["sync", "migrate", "--to", DATABASE_URL, "--schema", schema], {}, home);
      expect(migrated.status, migrated.stderr).toBe(0);
    }
  });
  afterAll(async () => {
    await sim.close();
  });

  /** Every course over `WORKERS` worker processes reading one OAuth record from a Redis store. */
  async function fleet(mode: keyof typeof schemas): Promise<FleetRun> {
    const schema = schemas[mode];
    const db = ["--to", DATABASE_URL, "--schema", schema];
    const queue = [`--queue`, `${REDIS_URL}/0`, "--queue-name", `easel-cli-workers-${tag}-${mode}`];
    const pacing = mode === "shared" ? [] : ["--no-shared-pacing"];
    const prefix = `easel-cli-workers-${tag}-${mode}:`;
    const fernetKey = generateKey();
    const storeUri = `${REDIS_URL}/0?prefix=${prefix}`;
    const store = await openTokenStore(storeUri, { fernetKeys: fernetKey });
    // A new token per run: a new, empty bucket.
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
    const workers: Running[] = [];
    try {
      for (let i = 0; i < WORKERS; i++) {
        workers.push(startEasel(["worker", ...db, ...queue, ...pacing, "--concurrency", "4"], env, home));
      }
      sim.resetStats();
      const enqueued = await easel(["sync", ...db, "--all-courses", ...queue, ...pacing], env, home);
      expect(enqueued.status, enqueued.stderr).toBe(0);
      const runId = Number(new RegExp(`Run (\\d+): enqueued ${COURSES} course`).exec(enqueued.stdout)?.[1]);
      expect(runId).toBeGreaterThan(0);
      const started = Date.now();
      await waitFor(
        async () => (await runStatus(pool, schema, runId)).state !== "running",
        150_000,
        `run ${runId}`,
      );
      const status = await runStatus(pool, schema, runId);
      const runMs = Date.now() - started;
      expect(status.state).toBe("succeeded");
      expect(status.courses).toMatchObject({ total: COURSES, done: COURSES, failed: 0 });
      const stats = sim.stats();
      for (const w of workers) w.child.kill("SIGTERM");
      const ended = await Promise.all(workers.map((w) => w.done));
      const synced = ended.flatMap((e) =>
        e.stdout
          .split("\n")
          .map((line) => /^run \d+ course (\d+): done/.exec(line)?.[1])
          .filter((id): id is string => id !== undefined)
          .map((id) => `course ${id}`),
      );
      // Exactly the simulator's rows, each course stamped by one run.
      const all = Array.from({ length: COURSES }, (_, i) => i + 1);
      const submissions = await pool.query(
        `SELECT count(*)::int AS n, count(DISTINCT course_id)::int AS courses FROM "${schema}".submissions`,
      );
      expect(submissions.rows[0]).toEqual({
        n: all.reduce((n, c) => n + sim.data.submissionsCount(c), 0),
        courses: COURSES,
      });
      return {
        throttled: stats.throttled,
        peakConcurrency: stats.peakConcurrency,
        requests: stats.requests.total,
        runMs,
        synced,
        workerStderr: ended.map((e) => e.stderr),
      };
    } finally {
      for (const w of workers) if (!w.exited) w.child.kill("SIGTERM");
      await Promise.all(workers.map((w) => w.done.catch(() => undefined)));
      await store.close();
    }
  }

  it(`${COURSES} courses over ${WORKERS} worker processes: the shared budget keeps Canvas from refusing any request, ` +
    "every course synced once; without it, Canvas refuses some", async () => {
    const shared = await fleet("shared");
    const all = Array.from({ length: COURSES }, (_, i) => `course ${i + 1}`);
    expect(shared.synced.sort()).toEqual(all.sort());
    for (const stderr of shared.workerStderr) {
      expect(stderr).toContain("pacing on the rate-limit budget shared in Redis");
      expect(stderr).not.toContain("warning");
    }
    expect(shared.throttled).toBe(0);
    // The workers did run side by side, as far as the bucket let them.
    expect(shared.peakConcurrency).toBeGreaterThan(1);

    // The control: the same fleet, each worker pacing on its own view only.
    const alone = await fleet("alone");
    expect(alone.synced.sort()).toEqual(all.sort());
    expect(alone.workerStderr[0]).toContain("pacing on this process's view only");
    console.log(
      `shared budget: ${shared.requests} requests, ${shared.throttled} throttled, peak ${shared.peakConcurrency} in flight, ${shared.runMs} ms; ` +
        `each alone: ${alone.requests} requests, ${alone.throttled} throttled, peak ${alone.peakConcurrency}, ${alone.runMs} ms`,
    );
    expect(alone.throttled).toBeGreaterThan(0);
  }, 300_000);
});
