import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import type { ManualClock } from "@easel/clock";
import { MemoryStore, type TokenRecord } from "@easel/token-store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oauth, TokenAdmin, TokenManager } from "../src/index.js";
import { canvasGet, clockWithSim } from "./helpers.js";

let sim: CanvasSim;
let clock: ManualClock;
let advance: (seconds: number) => void;

beforeAll(async () => {
  sim = await createCanvasSim({
    seed: 11,
    courses: 1,
    studentsPerCourse: 5,
    throttle: false,
    freezeClock: true,
  });
  ({ clock, advance } = clockWithSim(sim));
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.resetStats());

function setup(options: { bufferSeconds?: number } = {}) {
  const strategy = oauth({
    baseUrl: sim.url,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    clock,
    dangerouslyAllowInsecureHttp: true,
  });
  const minted = sim.admin.mintOAuthTokens({ userId: 1, expiresIn: 3600 });
  const record: TokenRecord = { ...minted, expires_at: sim.now() / 1000 + minted.expires_in };
  const store = new MemoryStore();
  const manager = new TokenManager(strategy, store, { clock, ...options });
  return { record, store, manager, admin: new TokenAdmin(manager) };
}

describe("the refresh buffer", () => {
  it("refreshes a token with less than the buffer left BEFORE using it, so Canvas never sees a 401", async () => {
    const { record, store, manager, admin } = setup();
    await store.set("default", record);
    advance(3600 - 200); // 200 s left < 300 s buffer, still valid at Canvas
    expect((await admin.status()).state).toBe("refresh-due");

    const token = await manager.getAccessToken();
    expect(token).not.toBe(record.access_token);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    const response = await canvasGet(`${sim.url}/api/v1/users/self`, token);
    expect(response.status).toBe(200);
    expect(sim.stats().requests.byStatus["401"] ?? 0).toBe(0);
    const stored = (await store.get("default"))!;
    expect(stored.access_token).toBe(token);
    expect(stored.expires_at! - sim.now() / 1000).toBeCloseTo(3600, 0);
    expect(manager.stats()).toMatchObject({ refreshes: 1, skipped: 0 });
  });

  it("does not refresh a token with more than the buffer left", async () => {
    const { record, store, manager, admin } = setup();
    await store.set("default", record);
    advance(3600 - 400);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);
    expect((await admin.status()).state).toBe("valid");
  });

  it("honours a custom buffer", async () => {
    const { record, store, manager } = setup({ bufferSeconds: 900 });
    await store.set("default", record);
    advance(3600 - 600);
    expect(await manager.getAccessToken()).not.toBe(record.access_token);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
  });

  it("shares one refresh among concurrent callers of one process", async () => {
    const { record, store, manager } = setup();
    await store.set("default", record);
    advance(3600 + 10);
    const tokens = await Promise.all(Array.from({ length: 50 }, () => manager.getAccessToken()));
    expect(new Set(tokens).size).toBe(1);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(manager.stats().refreshes).toBe(1);
    expect(manager.stats().joined).toBeGreaterThanOrEqual(49);
  });

  it("treats a record without expires_at as not expiring (refresh only after a 401)", async () => {
    const { record, store, manager, admin } = setup();
    const { expires_at: _drop, expires_in: _drop2, ...noExpiry } = record;
    await store.set("default", noExpiry as TokenRecord);
    expect(await manager.getAccessToken()).toBe(record.access_token);
    expect((await admin.status()).state).toBe("no-expiry");
    advance(3700);
    const response = await canvasGet(`${sim.url}/api/v1/users/self`, record.access_token);
    expect(response).toMatchObject({ status: 401, challenged: true });
    const fresh = await manager.handleUnauthorized(record.access_token);
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, fresh)).status).toBe(200);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
  });

  it("handleUnauthorized returns the newer stored token without refreshing when another caller already did", async () => {
    const { record, store, manager } = setup();
    await store.set("default", record);
    const other = new TokenManager(manager.strategy, store, { clock });
    await new TokenAdmin(other).refresh();
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    const newer = await manager.handleUnauthorized(record.access_token);
    expect(newer).toBe((await store.get("default"))!.access_token);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
  });
});
