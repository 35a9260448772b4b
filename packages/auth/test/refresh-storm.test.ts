import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore as createFileStore } from "@easel/store-file";
import { createTokenStore as createRedisStore } from "@easel/store-redis";
import { REDIS_URL, requireRedis, tempDir, uniqueRedisPrefix } from "@easel/test-utils";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChildPool, canvasGet, cleanupRedisPrefix, redisKeys } from "./helpers.js";

const PROCESSES = 4;
const REQUESTS_PER_PROCESS = 50;

interface ChildResult {
  statuses: Record<string, number>;
  unauthorized: number;
  errors: string[];
  stats: { refreshes: number; skipped: number; joined: number };
}

let sim: CanvasSim;
let dir: string;
const fernetKey = generateKey();
// Fails in CI when Redis is down; skips the Redis cases with a warning elsewhere.
const redisUp = await requireRedis("the refresh-storm cases on Redis");
const redisPrefix = uniqueRedisPrefix("auth:storm");

beforeAll(async () => {
  // Throttling off: 200 simultaneous requests on one token would otherwise be throttled, which
  // is the canvas client's business, not auth's.
  sim = await createCanvasSim({ seed: 5, courses: 1, studentsPerCourse: 5, throttle: false });
  dir = tempDir("easel-auth-");
});
afterAll(async () => {
  await sim?.close();
  if (redisUp) await cleanupRedisPrefix(redisPrefix);
});

const stores: Array<{
  name: string;
  uri: () => string;
  open: (uri: string) => Promise<TokenStore>;
  skip: boolean;
}> = [
  {
    name: "file store",
    uri: () => `file:${dir}/tokens/`,
    open: (uri) => createFileStore(uri, { fernetKeys: fernetKey }),
    skip: false,
  },
  {
    name: "Redis store",
    uri: () => `${REDIS_URL}?prefix=${encodeURIComponent(redisPrefix)}`,
    open: (uri) => createRedisStore(uri, { fernetKeys: fernetKey }),
    skip: !redisUp,
  },
];

/**
 * Mints a token pair, stores it under `key`, and makes it expired at the simulator. `expiredRecord`
 * decides whether the processes know it (expires_at in the past) or learn it from Canvas's 401.
 */
async function prepare(store: TokenStore, key: string, expiredRecord: boolean): Promise<TokenRecord> {
  const minted = sim.admin.mintOAuthTokens({ userId: 1 });
  const nowSeconds = Date.now() / 1000;
  const record: TokenRecord = { ...minted, expires_at: expiredRecord ? nowSeconds - 30 : nowSeconds + 3000 };
  await store.set(key, record);
  sim.admin.expireToken(minted.access_token);
  expect((await canvasGet(`${sim.url}/api/v1/users/self`, minted.access_token)).status).toBe(401);
  sim.resetStats();
  return record;
}

const ROUNDS = [
  { key: "storm-expired", expiredRecord: true, how: "the record says expired" },
  { key: "storm-401", expiredRecord: false, how: "Canvas answers 401 to everyone" },
];

describe.each(stores)("refresh storm: $name", ({ uri, open, skip }) => {
  let store: TokenStore;
  let pool: ChildPool;
  beforeAll(async () => {
    if (skip) return;
    store = await open(uri());
    pool = new ChildPool("storm-child.mjs", PROCESSES, {
      SIM_URL: sim.url,
      CLIENT_ID: sim.clientId,
      CLIENT_SECRET: sim.clientSecret,
      STORE_URI: uri(),
      FERNET_KEY: fernetKey,
      TOKEN_KEYS: ROUNDS.map((r) => r.key).join(","),
      REQUESTS: String(REQUESTS_PER_PROCESS),
    });
  });
  afterAll(async () => {
    await pool?.close();
    await store?.close();
  });

  for (const { key, expiredRecord, how } of ROUNDS) {
    it.skipIf(skip)(
      `${PROCESSES} processes x ${REQUESTS_PER_PROCESS} requests, ${how}: exactly one refresh_token grant, every request succeeds`,
      async () => {
        const before = await prepare(store, key, expiredRecord);
        const results = (await pool.round()) as ChildResult[];

        const grants = sim.stats().tokenGrants;
        expect(grants.refresh_token).toBe(1);
        expect(grants.refused).toBe(0);
        for (const result of results) {
          expect(result.errors).toEqual([]);
          expect(result.statuses).toEqual({ "200": REQUESTS_PER_PROCESS });
        }
        // One process refreshed; the others found it done under the lock or by re-reading.
        expect(results.reduce((sum, r) => sum + r.stats.refreshes, 0)).toBe(1);
        const after = (await store.get(key))!;
        expect(after.access_token).not.toBe(before.access_token);
        expect(after.refresh_token).toBe(before.refresh_token);
        expect((await canvasGet(`${sim.url}/api/v1/users/self`, after.access_token)).status).toBe(200);
        if (!expiredRecord) {
          expect(results.reduce((sum, r) => sum + r.unauthorized, 0)).toBe(PROCESSES * REQUESTS_PER_PROCESS);
        }
      },
    );
  }
});

describe.skipIf(!redisUp)("Redis cleanup", () => {
  it("leaves no lock behind under the test prefix", async () => {
    const keys = await redisKeys(redisPrefix);
    expect(keys.filter((k) => k.includes("lock"))).toEqual([]);
  });
});
