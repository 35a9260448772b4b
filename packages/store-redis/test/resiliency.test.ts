import { generateKey } from "@easel/fernet";
import { freePort } from "@easel/test-utils";
import { STORE_AUTH_FAILED, STORE_UNAVAILABLE, type TokenRecord, TokenStoreError } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore, RedisTokenStore } from "../src/index.js";
import { ScratchRedis } from "./helpers.js";

const fernetKeys = generateKey();
const record: TokenRecord = {
  access_token: "at-resiliency-0123456789",
  token_type: "Bearer",
  refresh_token: "rt-1",
};
/** The outage bound the brief promises a CLI: well under the 3 s a person waits. */
const OUTAGE_BOUND_MS = 3_000;

/** Resolves to the rejection (failing if the promise resolves) and how long it took. */
async function rejection(promise: Promise<unknown>): Promise<{ error: TokenStoreError; ms: number }> {
  const started = performance.now();
  try {
    const value = await promise;
    throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
  } catch (error) {
    if (!(error instanceof TokenStoreError)) throw error;
    return { error, ms: performance.now() - started };
  }
}

/** Every message in the error's cause chain, for secret checks. */
function allText(error: unknown): string {
  let text = "";
  for (let e: unknown = error; e instanceof Error; e = e.cause)
    text += `${e.name}: ${e.message} ${e.stack}\n`;
  return text;
}

describe("Redis down or frozen", () => {
  let redis: ScratchRedis;
  beforeAll(async () => {
    redis = await ScratchRedis.start();
  });
  afterAll(() => redis.stop());

  it("opening a store where nothing listens fails fast with STORE_UNAVAILABLE naming host:port, not the password", async () => {
    const port = await freePort();
    const { error, ms } = await rejection(
      createTokenStore(`redis://:pa55-w0rd-xyz@127.0.0.1:${port}/0`, { fernetKeys }),
    );
    expect(error.code).toBe(STORE_UNAVAILABLE);
    expect(error.message).toContain(`127.0.0.1:${port}`);
    expect(allText(error)).not.toContain("pa55-w0rd-xyz");
    expect(ms).toBeLessThan(OUTAGE_BOUND_MS);
  });

  it("Redis killed under an open store: every operation rejects with STORE_UNAVAILABLE quickly (never 'no token'), then recovers when Redis is back", async () => {
    const store = await createTokenStore(`${redis.url}/0?prefix=res:`, { fernetKeys });
    try {
      await store.set("k", record);
      await redis.kill();

      const read = await rejection(store.get("k"));
      expect(read.error.code).toBe(STORE_UNAVAILABLE);
      expect(read.error.message).toContain(`127.0.0.1:${redis.port}`);
      expect(read.ms).toBeLessThan(OUTAGE_BOUND_MS);
      for (const operation of [store.set("k", record), store.delete("k")]) {
        const { error, ms } = await rejection(operation);
        expect(error.code).toBe(STORE_UNAVAILABLE);
        expect(ms).toBeLessThan(OUTAGE_BOUND_MS);
      }
      let ran = false;
      const lock = await rejection(
        store.withLock("k", async () => {
          ran = true;
        }),
      );
      expect(lock.error.code).toBe(STORE_UNAVAILABLE);
      expect(ran).toBe(false);

      // A burst during the outage: nothing queues waiting for a reconnect.
      const started = performance.now();
      const burst = await Promise.allSettled(Array.from({ length: 50 }, () => store.get("k")));
      expect(burst.every((r) => r.status === "rejected" && r.reason.code === STORE_UNAVAILABLE)).toBe(true);
      expect(performance.now() - started).toBeLessThan(OUTAGE_BOUND_MS);

      await redis.restart(); // same port, empty (no persistence)
      expect(await store.get("k")).toBeUndefined();
      await store.set("k", record);
      expect(await store.get("k")).toEqual(record);
      expect(await store.withLock("k", async () => "locked again")).toBe("locked again");
    } finally {
      await store.close();
    }
  });

  it("a frozen Redis (SIGSTOP: connections accepted, never answered) fails within the deadlines, then recovers", async () => {
    const options = { fernetKeys, connectTimeoutMs: 800, commandTimeoutMs: 800 };
    const store = await createTokenStore(`${redis.url}/0?prefix=frozen:`, options);
    try {
      await store.set("k", record);
      redis.pause();
      const inFlight = await rejection(store.get("k"));
      expect(inFlight.error.code).toBe(STORE_UNAVAILABLE);
      expect(inFlight.ms).toBeLessThan(OUTAGE_BOUND_MS);
      // The next operation must open a new connection, whose handshake never completes.
      const reconnect = await rejection(store.get("k"));
      expect(reconnect.error.code).toBe(STORE_UNAVAILABLE);
      expect(reconnect.ms).toBeLessThan(OUTAGE_BOUND_MS);
      const opening = await rejection(createTokenStore(`${redis.url}/0`, options));
      expect(opening.error.code).toBe(STORE_UNAVAILABLE);
      expect(opening.ms).toBeLessThan(OUTAGE_BOUND_MS);

      redis.resume();
      expect(await store.get("k")).toEqual(record);
    } finally {
      redis.resume();
      await store.close();
    }
  });

  it("close() is idempotent, bounded while Redis is down, and later use fails with STORE_UNAVAILABLE", async () => {
    const store = new RedisTokenStore(`redis://127.0.0.1:${await freePort()}/0`, { fernetKeys });
    await store.close();
    await store.close();
    const { error } = await rejection(store.get("k"));
    expect(error.code).toBe(STORE_UNAVAILABLE);
  });
});

describe("Redis with a password (requirepass and ACL users)", () => {
  const password = "correct horse battery staple";
  let redis: ScratchRedis;
  beforeAll(async () => {
    redis = await ScratchRedis.start([
      "--requirepass",
      password,
      "--user",
      "alice",
      "on",
      ">alice-pw-42",
      "~*",
      "&*",
      "+@all",
      "--user",
      "bob",
      "on",
      ">bob-pw-42",
      "~other:*",
      "+@all",
    ]);
  });
  afterAll(() => redis.stop());
  const uri = (userinfo: string) => `redis://${userinfo}@127.0.0.1:${redis.port}/0?prefix=auth:`;

  it("a wrong password fails with STORE_AUTH_FAILED and a message that says what to fix, without the password", async () => {
    const { error } = await rejection(createTokenStore(uri(":wrong-pw-31337"), { fernetKeys }));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toMatch(/rejected the credentials/);
    expect(error.message).toContain(`127.0.0.1:${redis.port}`);
    expect(allText(error)).not.toContain("wrong-pw-31337");
  });

  it("no password fails with STORE_AUTH_FAILED asking for one", async () => {
    const { error } = await rejection(createTokenStore(`redis://127.0.0.1:${redis.port}/0`, { fernetKeys }));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toMatch(/requires a password/);
  });

  it("the right password (requirepass, percent-encoded) and an ACL user:password both work", async () => {
    for (const userinfo of [`:${encodeURIComponent(password)}`, "alice:alice-pw-42"]) {
      const store = await createTokenStore(uri(userinfo), { fernetKeys });
      try {
        await store.set("k", record);
        expect(await store.get("k")).toEqual(record);
        expect(await store.delete("k")).toBe(true);
      } finally {
        await store.close();
      }
    }
  });

  it("an ACL user without access to the prefix fails with STORE_AUTH_FAILED (NOPERM), not 'no token'", async () => {
    const store = await createTokenStore(uri("bob:bob-pw-42"), { fernetKeys });
    try {
      const { error } = await rejection(store.get("k"));
      expect(error.code).toBe(STORE_AUTH_FAILED);
      expect(error.message).toContain("NOPERM");
      expect(allText(error)).not.toContain("bob-pw-42");
    } finally {
      await store.close();
    }
  });
});
