import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import type { ManualClock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-redis";
import { type PrivateRedis, startPrivateRedis } from "@easel/test-utils";
import { STORE_UNAVAILABLE, type TokenRecord, type TokenStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { oauth, TokenManager } from "../src/index.js";
import { canvasGet, captureLogger, clockWithSim } from "./helpers.js";

// A store outage mid-run: the token in memory is still good, so the job keeps working on it and
// only stops (STORE_UNAVAILABLE) when it really expires with the store still down.
const TTL = 600;

let sim: CanvasSim;
let clock: ManualClock;
let advance: (seconds: number) => void;
let redis: PrivateRedis;
let store: TokenStore;

beforeAll(async () => {
  sim = await createCanvasSim({
    seed: 3,
    courses: 1,
    studentsPerCourse: 3,
    tokenTtlSeconds: TTL,
    freezeClock: true,
  });
  ({ clock, advance } = clockWithSim(sim));
  redis = await startPrivateRedis();
  store = await createTokenStore(`${redis.url}?prefix=outage:`, {
    fernetKeys: generateKey(),
    connectTimeoutMs: 300,
    commandTimeoutMs: 500,
  });
});
afterAll(async () => {
  await store?.close().catch(() => {});
  await redis?.kill();
  await sim?.close();
});

describe("the token store goes down mid-run", () => {
  it("works on the valid token, warns once, retries the store with backoff, and stops with STORE_UNAVAILABLE only at expiry", async () => {
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      clock,
      dangerouslyAllowInsecureHttp: true,
    });
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const record: TokenRecord = { ...minted, expires_at: sim.now() / 1000 + minted.expires_in };
    await store.set("default", record);
    const logger = captureLogger();
    const retries: number[] = [];
    const manager = new TokenManager(strategy, store, {
      clock,
      logger,
      onEvent: (event) => {
        if (event.type === "renewal-deferred") retries.push(event.retryInMs);
      },
    });
    expect(await manager.getAccessToken()).toBe(record.access_token);

    await redis.kill();
    // Into the refresh window (300 s buffer of a 600 s token: at most 120 s) and on to 1 s before
    // expiry, one request a second: every one gets the token in memory, and Canvas accepts it.
    advance(TTL - 120);
    for (let second = 0; second < 119; second++) {
      const token = await manager.getAccessToken();
      expect(token).toBe(record.access_token);
      if (second % 40 === 0)
        expect((await canvasGet(`${sim.url}/api/v1/users/self`, token)).status).toBe(200);
      advance(1);
    }
    const warnings = logger.lines.filter((line) => line.includes('"level":"warn"'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(STORE_UNAVAILABLE);
    // Backoff: the store was tried a handful of times in two minutes, with growing delays.
    expect(retries.length).toBeGreaterThan(3);
    expect(retries.length).toBeLessThan(20);
    expect(retries[2]!).toBeGreaterThan(retries[0]!);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);

    advance(2); // expired, store still down
    await expect(manager.getAccessToken()).rejects.toMatchObject({ code: STORE_UNAVAILABLE });

    await redis.restart(); // empty: a fresh server lost the record, so put it back as an operator would
    await store.set("default", record);
    const renewed = await manager.getAccessToken();
    expect(renewed).not.toBe(record.access_token);
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, renewed)).status).toBe(200);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(logger.text()).not.toContain(record.access_token);
  });
});
