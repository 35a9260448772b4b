import { oauth } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore, type RedisTokenStore } from "@easel/store-redis";
import { type PrivateRedis, startPrivateRedis } from "@easel/test-utils";
import type { TokenRecord } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { Gateway } from "../src/index.js";
import { createGatewayLogger, gql, LogCapture, serviceGateway, startSim } from "./helpers.js";

// Service mode with the token record in Redis, and Redis killed while the token is good: the
// gateway keeps answering on the token in memory; once that token expires with the store still
// down, queries answer a coded error (never a 500 with a stack) and /readyz fails; with the store
// back, queries answer again. The gateway's TokenManager runs on the system clock, so the token
// lives a few real seconds.
const TTL_SECONDS = 5;
const QUERY = "{ viewer { id } }";

let sim: CanvasSim;
let redis: PrivateRedis;
let store: RedisTokenStore;
let gateway: Gateway;

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 3, assignmentsPerCourse: 1 });
  redis = await startPrivateRedis();
  store = await createTokenStore(`${redis.url}?prefix=gw-outage:`, {
    fernetKeys: generateKey(),
    connectTimeoutMs: 300,
    commandTimeoutMs: 500,
  });
});
afterAll(async () => {
  await gateway?.close();
  await store?.close().catch(() => {});
  await redis?.kill();
  await sim?.close();
});

/** A fresh OAuth token from the simulator, `ttl` seconds to live, as a store record. */
async function mintRecord(ttl: number): Promise<TokenRecord> {
  const response = await fetch(`${sim.url}/__sim/oauth/tokens?expires_in=${ttl}`, { method: "POST" });
  expect(response.status).toBe(200);
  const minted = (await response.json()) as TokenRecord & { expires_in: number };
  return { ...minted, expires_at: Date.now() / 1000 + minted.expires_in };
}

describe("a token store outage under a service-mode gateway", () => {
  it("answers on the valid token, fails coded at expiry with /readyz down, and recovers with the store", async () => {
    const record = await mintRecord(TTL_SECONDS);
    await store.set("svc", record);
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      dangerouslyAllowInsecureHttp: true,
    });
    const logs = new LogCapture();
    gateway = serviceGateway(sim, {
      auth: { strategy, store, key: "svc" },
      readinessCacheMs: 0,
      logger: createGatewayLogger({ level: "warn" }, logs),
    });
    const first = await gql(gateway, QUERY);
    expect(first.status, first.text).toBe(200);
    const viewer = first.body.data;
    expect(viewer).toEqual({ viewer: { id: expect.any(String) } });
    sim.resetStats();

    await redis.kill();
    // Until half a second before expiry, well inside the refresh window (a fifth of the 5 s lifetime,
    // where the manager tries the store and warns), every query answers with data.
    const expiresAtMs = record.expires_at! * 1000;
    let answered = 0;
    while (Date.now() < expiresAtMs - 500) {
      const result = await gql(gateway, QUERY, { headers: { "cache-control": "no-cache" } });
      expect(result.status, result.text).toBe(200);
      expect(result.body.data).toEqual(viewer);
      answered++;
    }
    expect(answered).toBeGreaterThan(0);
    // The outage is logged once (the gateway passed no logger to its TokenManager before).
    expect(logs.lines.filter((line) => line.includes("token store unreachable"))).toHaveLength(1);

    // Expired with the store still down: a coded error, no stack, and not ready.
    const failed = await vi.waitFor(
      async () => {
        const result = await gql(gateway, QUERY, { headers: { "cache-control": "no-cache" } });
        expect(result.body.errors).toBeDefined();
        return result;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(expiresAtMs - 1000);
    expect(failed.status).not.toBe(500);
    expect(failed.body.errors![0]!.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    expect(failed.body.errors![0]!.message).toBe("The token store is unavailable.");
    expect(failed.text).not.toMatch(/\bat .+\.(?:js|ts):\d+/);
    expect(failed.text).not.toContain(record.access_token);
    expect(logs.text).not.toContain(record.access_token);
    expect(logs.text).not.toContain(record.refresh_token!);
    const readyz = await gateway.fetch("http://gateway.test/readyz");
    expect(readyz.status).toBe(503);
    expect(await readyz.json()).toMatchObject({ checks: { store: "failing" } });
    // The refresh needs the store (its lock): none reached Canvas while it was down.
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);

    // Back, empty (nothing persisted): the record goes in again, and queries answer.
    await redis.restart();
    await store.set("svc", await mintRecord(3600));
    const recovered = await vi.waitFor(
      async () => {
        const result = await gql(gateway, QUERY, { headers: { "cache-control": "no-cache" } });
        expect(result.status, result.text).toBe(200);
        return result;
      },
      { timeout: 10_000, interval: 100 },
    );
    expect(recovered.body.data).toEqual(viewer);
    expect((await gateway.fetch("http://gateway.test/readyz")).status).toBe(200);
  });
});
