import { CanvasClient, type CanvasLogger, type PacingOptions, type Submission } from "@easel/canvas-client";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { REDIS_URL, requireRedis, startPrivateRedis, uniqueRedisPrefix } from "@easel/test-utils";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  budgetKey,
  RateLimitBudgetOptionsError,
  RateLimitBudgetUnavailableError,
  RedisRateLimitBudget,
} from "../src/index.js";

// Fails in CI when Redis is down; skips with a warning elsewhere.
const redisUp = await requireRedis("the shared rate-limit budget tests");

// A scaled-down Canvas bucket (Canvas: 600 / 50 up front / 10 a second): room for 11 requests in
// flight, leaking fast enough that a test needs no long waits.
const BUCKET = { hwm: 300, maximum: 400, upFrontCost: 25, outflowPerSecond: 400, costPerRequest: 10 };
const PACING: PacingOptions = {
  bucketSize: BUCKET.hwm,
  upFrontCost: BUCKET.upFrontCost,
  leakPerSecond: BUCKET.outflowPerSecond,
};
const CLIENTS = 4;

interface Warning {
  fields: Record<string, unknown>;
  message: string | undefined;
}

function recordingLogger(): { logger: CanvasLogger; warnings: Warning[]; infos: string[] } {
  const warnings: Warning[] = [];
  const infos: string[] = [];
  const ignore = () => {};
  return {
    warnings,
    infos,
    logger: {
      debug: ignore,
      info: (_fields, message) => infos.push(message ?? ""),
      warn: (fields, message) => warnings.push({ fields, message }),
      error: ignore,
    },
  };
}

describe.skipIf(!redisUp)("RedisRateLimitBudget", () => {
  let sim: CanvasSim;
  const redis = new Redis(REDIS_URL);
  beforeAll(async () => {
    sim = await createCanvasSim({
      seed: 5,
      courses: 1,
      studentsPerCourse: 120,
      assignmentsPerCourse: 8,
      throttle: BUCKET,
    });
    // Every answer takes a round trip, as over a real network: requests overlap in the bucket.
    sim.faults.add({ fault: "slow", latencyMs: 20 });
  });
  afterAll(async () => {
    await sim.close();
    redis.disconnect();
  });

  /**
   * `CLIENTS` clients on one token, as separate processes would be (each its own budget connection),
   * each walking every assignment's submissions 8 requests at a time.
   */
  async function walkTogether(shared: { prefix: string } | undefined, token: string) {
    const budgets = Array.from({ length: CLIENTS }, () =>
      shared
        ? new RedisRateLimitBudget({
            url: REDIS_URL,
            identity: `${sim.url}\n${token}`,
            prefix: shared.prefix,
          })
        : undefined,
    );
    const clients = budgets.map(
      (budget) =>
        new CanvasClient({
          baseUrl: sim.url,
          auth: token,
          perPage: 20,
          maxConcurrency: 8,
          retry: { minDelayMs: 20, maxDelayMs: 500, rateLimitRetries: 200 },
          pacing: budget ? { ...PACING, budget } : PACING,
        }),
    );
    sim.resetStats();
    const assignments = sim.data.assignments(1).map((a) => a.id);
    try {
      const rows = await Promise.all(
        clients.map(async (client) => {
          let count = 0;
          await Promise.all(
            assignments.map(async (assignmentId) => {
              for await (const _ of client.submissions.forAssignment(
                1,
                assignmentId,
              ) as AsyncIterable<Submission>) {
                count++;
              }
            }),
          );
          return count;
        }),
      );
      return { rows, stats: sim.stats() };
    } finally {
      await Promise.all(clients.map((client) => client.close()));
      await Promise.all(budgets.map((budget) => budget?.close()));
    }
  }

  it(`${CLIENTS} clients on one token sharing the budget: Canvas refuses none; each pacing alone, Canvas refuses some`, async () => {
    const prefix = uniqueRedisPrefix("rate-limit-shared");
    const expected = 120 * 8;
    const shared = await walkTogether(
      { prefix },
      sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "shared" }),
    );
    expect(shared.rows).toEqual(Array(CLIENTS).fill(expected));
    expect(shared.stats.throttled).toBe(0);
    // The clients did overlap: the bucket allowed 11 in flight and they used several.
    expect(shared.stats.peakConcurrency).toBeGreaterThan(1);

    // The control: the same walk with each client pacing on its own answers only.
    const alone = await walkTogether(
      undefined,
      sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "alone" }),
    );
    expect(alone.rows).toEqual(Array(CLIENTS).fill(expected));
    expect(alone.stats.throttled).toBeGreaterThan(0);
    console.log(
      `shared budget: ${shared.stats.requests.total} requests, ${shared.stats.throttled} throttled, peak ${shared.stats.peakConcurrency} in flight; ` +
        `alone: ${alone.stats.requests.total} requests, ${alone.stats.throttled} throttled, peak ${alone.stats.peakConcurrency}`,
    );
  }, 120_000);

  it("keys the budget by a hash of the identity: Redis never holds the token, other tokens get other keys", async () => {
    const prefix = uniqueRedisPrefix("rate-limit-keys");
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "keys" });
    const other = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "keys 2" });
    for (const t of [token, other]) {
      const budget = new RedisRateLimitBudget({ url: REDIS_URL, identity: `${sim.url}\n${t}`, prefix });
      const client = new CanvasClient({ baseUrl: sim.url, auth: t, pacing: { ...PACING, budget } });
      await client.request("GET", "/api/v1/courses/1");
      await client.close();
      await budget.close();
    }
    const keys = (await redis.keys(`${prefix}*`)).sort();
    const hashes = [budgetKey(`${sim.url}\n${token}`), budgetKey(`${sim.url}\n${other}`)];
    expect(hashes[0]).not.toBe(hashes[1]);
    expect(keys).toEqual(hashes.map((hash) => `${prefix}${hash}`).sort());
    for (const key of keys) {
      const dump = JSON.stringify(await redis.hgetall(key));
      expect(dump).not.toContain(token);
      expect(dump).not.toContain(other);
      // The answer's X-Rate-Limit-Remaining is what the budget keeps.
      expect(Number((await redis.hget(key, "settled")) ?? Number.NaN)).toBeLessThanOrEqual(BUCKET.hwm);
    }
    await redis.del(...keys);
  });

  it("paces on the injected clock: a second process waits exactly until the shared room leaks back", async () => {
    const prefix = uniqueRedisPrefix("rate-limit-clock");
    const clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
    const model = { bucketSize: 600, leakPerSecond: 10, upFrontCost: 50, reserve: 0 };
    const a = new RedisRateLimitBudget({ url: REDIS_URL, identity: "clock", prefix });
    const b = new RedisRateLimitBudget({ url: REDIS_URL, identity: "clock", prefix });
    try {
      // Before any answer: one request at a time across processes.
      const first = await a.acquire({ now: clock.now(), model });
      expect(first.granted).toBe(true);
      expect(await b.acquire({ now: clock.now(), model })).toMatchObject({ granted: false });
      // Process A's answer: 45 left. B's next request needs 50: 5 units, 500 ms of leak.
      await a.release((first as { id: string }).id, {
        kind: "answer",
        now: clock.now(),
        model,
        remaining: 45,
        cost: 1,
      });
      expect(await b.acquire({ now: clock.now(), model })).toEqual({ granted: false, retryInMs: 500 });
      await clock.advance(499);
      expect(await b.acquire({ now: clock.now(), model })).toMatchObject({ granted: false });
      await clock.advance(1);
      const second = await b.acquire({ now: clock.now(), model });
      expect(second.granted).toBe(true);
      // B holds 50 up front: A waits for B's answer (polling), not for the leak alone.
      expect(await a.acquire({ now: clock.now(), model })).toEqual({ granted: false, retryInMs: 25 });
      // A throttled answer proves the room was at most what was in flight (B's 50).
      await clock.advance(3_000);
      await b.release((second as { id: string }).id, { kind: "throttled", now: clock.now(), model });
      const key = `${prefix}${budgetKey("clock")}`;
      expect(Number(await redis.hget(key, "settled"))).toBe(50);
      await redis.del(key, `${key}:in-flight`);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it("a Canvas that sends no X-Rate-Limit-Remaining leaves nothing to pace on: no one-at-a-time probing", async () => {
    const prefix = uniqueRedisPrefix("rate-limit-blind");
    const model = { bucketSize: 600, leakPerSecond: 10, upFrontCost: 50, reserve: 0 };
    const budget = new RedisRateLimitBudget({ url: REDIS_URL, identity: "blind", prefix });
    try {
      const first = await budget.acquire({ now: 0, model });
      expect((await budget.acquire({ now: 0, model })).granted).toBe(false);
      await budget.release((first as { id: string }).id, { kind: "answer", now: 1, model });
      const grants = await Promise.all([1, 2, 3].map(() => budget.acquire({ now: 2, model })));
      expect(grants.map((g) => g.granted)).toEqual([true, true, true]);
      const key = `${prefix}${budgetKey("blind")}`;
      await redis.del(key, `${key}:in-flight`);
    } finally {
      await budget.close();
    }
  });

  it("Redis down: the client paces on its own view with one warning, and uses the budget again once Redis is back", async () => {
    const privateRedis = await startPrivateRedis();
    const clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "outage" });
    const budget = new RedisRateLimitBudget({
      url: privateRedis.url,
      identity: `${sim.url}\n${token}`,
      commandTimeoutMs: 500,
    });
    const { logger, warnings, infos } = recordingLogger();
    const client = new CanvasClient({
      baseUrl: sim.url,
      auth: token,
      logger,
      clock,
      // Canvas's own bucket: these few requests never need to wait for its leak.
      pacing: { budget },
    });
    const probe = new Redis(privateRedis.url);
    probe.on("error", () => {});
    try {
      await client.request("GET", "/api/v1/courses/1");
      expect(await probe.dbsize()).toBeGreaterThan(0);
      expect(warnings).toEqual([]);

      await privateRedis.kill();
      for (let i = 0; i < 5; i++) await client.request("GET", "/api/v1/courses/1");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]!.fields).toMatchObject({ code: "RATE_LIMIT_BUDGET_UNAVAILABLE" });
      expect(warnings[0]!.message).toMatch(/Shared rate-limit budget unreachable .*own view/);
      expect(warnings[0]!.message).not.toContain(token);

      await privateRedis.restart();
      // The budget is asked again 5 s (of the injected clock) after it failed; ioredis reconnects
      // on its own schedule, so keep asking until it has.
      for (let i = 0; i < 100 && infos.length === 0; i++) {
        await clock.advance(5_000);
        await client.request("GET", "/api/v1/courses/1");
        // Waits on the reconnection, an outside process's pace, not on a timing assertion.
        if (infos.length === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(infos).toContain("Shared rate-limit budget reachable again; pacing on it");
      expect(await probe.dbsize()).toBeGreaterThan(0);
      expect(warnings).toHaveLength(1);
    } finally {
      probe.disconnect();
      await client.close();
      await budget.close();
      await privateRedis.kill();
    }
  }, 60_000);

  it("rejects bad options with a typed error, and a closed budget with RATE_LIMIT_BUDGET_UNAVAILABLE", async () => {
    expect(() => new RedisRateLimitBudget({ url: "http://cache:6379", identity: "x" })).toThrow(
      RateLimitBudgetOptionsError,
    );
    expect(() => new RedisRateLimitBudget({ url: REDIS_URL, identity: "" })).toThrow(/non-empty identity/);
    const budget = new RedisRateLimitBudget({ url: REDIS_URL, identity: "closed" });
    await budget.close();
    const model = { bucketSize: 600, leakPerSecond: 10, upFrontCost: 50, reserve: 0 };
    const error = await budget.acquire({ now: 0, model }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RateLimitBudgetUnavailableError);
    expect(error).toMatchObject({ code: "RATE_LIMIT_BUDGET_UNAVAILABLE" });
  });
});
