import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import type { ManualClock } from "@easel/clock";
import { MemoryStore, type TokenRecord } from "@easel/token-store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oauth, REFRESH_FAILED, TokenAdmin, TokenManager, type TokenManagerEvent } from "../src/index.js";
import { canvasGet, captureLogger, clockWithSim, settleWith } from "./helpers.js";

// Tokens shorter than the refresh buffer (issue: a 60 s token with the 300 s buffer refreshed
// before every request, the token endpoint answered 429 and the job died).
const TTL = 60;
const TOKEN_ROUTE = "POST /login/oauth2/token";

let sim: CanvasSim;
let clock: ManualClock;
let advance: (seconds: number) => void;

beforeAll(async () => {
  sim = await createCanvasSim({
    seed: 18,
    courses: 1,
    studentsPerCourse: 3,
    tokenTtlSeconds: TTL,
    freezeClock: true,
  });
  ({ clock, advance } = clockWithSim(sim));
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.faults.clear();
  sim.resetStats();
});

async function setup(options: { bufferSeconds?: number; expiresIn?: number } = {}) {
  const strategy = oauth({
    baseUrl: sim.url,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    clock,
    dangerouslyAllowInsecureHttp: true,
  });
  const minted = sim.admin.mintOAuthTokens({ userId: 1 });
  const record: TokenRecord = { ...minted, expires_at: sim.now() / 1000 + minted.expires_in };
  const store = new MemoryStore();
  await store.set("default", record);
  const events: TokenManagerEvent[] = [];
  const logger = captureLogger();
  const manager = new TokenManager(strategy, store, {
    clock,
    logger,
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { record, store, manager, events, logger };
}

const refreshGrants = () => sim.stats().tokenGrants.refresh_token;

describe("a token shorter than the refresh buffer", () => {
  it("is refreshed about once per lifetime, not before every request", async () => {
    const { manager } = await setup(); // default buffer 300 s > 60 s lifetime
    const minutes = 10;
    for (let second = 0; second < minutes * 60; second++) {
      const token = await manager.getAccessToken();
      if (second % 30 === 0)
        expect((await canvasGet(`${sim.url}/api/v1/users/self`, token)).status).toBe(200);
      advance(1);
    }
    // One grant per ~48 s (refreshed 12 s before expiry): 600 s / 48 s ≈ 12.5.
    expect(refreshGrants()).toBeGreaterThanOrEqual(minutes);
    expect(refreshGrants()).toBeLessThanOrEqual(Math.ceil((minutes * 60) / (TTL * 0.8)));
    expect(sim.stats().requests.byStatus["401"] ?? 0).toBe(0);
  });

  it("keeps the configured buffer when it is the smaller one", async () => {
    const { manager, record } = await setup({ bufferSeconds: 5 });
    advance(TTL - 6);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    advance(2);
    expect(await manager.getAccessToken()).not.toBe(record.access_token);
    expect(refreshGrants()).toBe(1);
  });

  it("derives the lifetime from expires_at and first sight when the record has no expires_in", async () => {
    const { store, manager, record } = await setup();
    const { expires_in: _dropped, ...withoutLifetime } = record;
    await store.set("default", withoutLifetime as TokenRecord);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    advance(TTL - 20);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    expect(refreshGrants()).toBe(0);
    advance(10); // 10 s left of a 60 s lifetime: inside the 12 s buffer
    expect(await manager.getAccessToken()).not.toBe(record.access_token);
    expect(refreshGrants()).toBe(1);
  });

  it("reports refresh-due by the adapted buffer", async () => {
    const { manager } = await setup();
    const admin = new TokenAdmin(manager);
    advance(TTL - 30);
    expect((await admin.status()).state).toBe("valid");
    advance(20);
    expect((await admin.status()).state).toBe("refresh-due");
  });
});

describe("a throttled or failing token endpoint while the token is still valid", () => {
  it("hands out the valid token, retries with backoff on the clock, and refreshes once the endpoint answers", async () => {
    const { manager, record, events, logger } = await setup();
    advance(TTL - 10); // inside the buffer, 10 s left
    sim.faults.add([
      { fault: "429", route: TOKEN_ROUTE, times: 2 },
      { fault: "503", route: TOKEN_ROUTE, times: 1 },
    ]);
    const seen = new Set<string>();
    for (let tenth = 0; tenth < 90; tenth++) {
      seen.add(await manager.getAccessToken());
      clock.set(clock.now() + 100);
      sim.advanceClock(0.1);
    }
    // Three failures, then the refresh: the token endpoint was asked 4 times in 9 s, not 90.
    expect(sim.stats().faults.injected).toBe(3);
    expect(refreshGrants()).toBe(1);
    expect(seen.size).toBe(2);
    expect(seen.has(record.access_token)).toBe(true);
    const deferred = events.filter((event) => event.type === "renewal-deferred");
    expect(deferred.map((event) => event.type === "renewal-deferred" && event.code)).toEqual([
      REFRESH_FAILED,
      REFRESH_FAILED,
      REFRESH_FAILED,
    ]);
    expect(
      logger.lines.filter((line) => line.includes('"level":"warn"') && line.includes('"op":"renew"')),
    ).toHaveLength(1);
    expect(logger.text()).not.toContain(record.access_token);
    expect(logger.text()).not.toContain(record.refresh_token!);
  });

  it("fails with REFRESH_FAILED once the token has run out and the endpoint still refuses", async () => {
    const { manager } = await setup();
    advance(TTL - 5);
    sim.faults.add({ fault: "429", route: TOKEN_ROUTE });
    await manager.getAccessToken(); // still valid: handed out
    advance(6);
    await expect(settleWith(clock, manager.getAccessToken())).rejects.toMatchObject({
      code: REFRESH_FAILED,
    });
  });
});
