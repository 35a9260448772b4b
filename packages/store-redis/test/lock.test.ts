import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { ManualClock } from "@easel/clock";
import { requireRedis, startNode, tempDir } from "@easel/test-utils";
import { LOCK_TIMEOUT } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore, type RedisTokenStore } from "../src/index.js";
import { LOCK_HEARTBEAT_MS, LOCK_LEASE_MS } from "../src/store.js";
import { rawClient, testNamespace } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/lock-child.mjs", import.meta.url));
const PROCESSES = 6;
const ITERATIONS = 15;
const redisUp = await requireRedis("the Redis lock tests");
const ns = testNamespace("lock");
afterAll(() => (redisUp ? ns.cleanup() : undefined));

interface HoldEvent {
  pid: number;
  acquiredAt: string;
  releasedAt: string;
}

/** A lock-child.mjs process; in "hold" mode its first line ("locked") says it holds the lock. */
function runChild(uri: string, args: string[]) {
  const { child, ready, done } = startNode(CHILD, args, {
    env: { EASEL_TEST_REDIS_URI: uri, EASEL_FERNET_KEY: ns.fernetKeys },
  });
  return { child, locked: ready, exited: done };
}

describe.skipIf(!redisUp)("withLock across processes (SET NX PX + compare-and-delete)", () => {
  it(`${PROCESSES} processes x ${ITERATIONS} critical sections: never two holders at once, no lost update`, async () => {
    const uri = ns.uri(ns.prefix());
    const dir = tempDir("easel-redis-lock-");
    const children = Array.from({ length: PROCESSES }, (_, i) =>
      runChild(uri, ["contend", String(ITERATIONS), join(dir, `events-${i}.json`)]),
    );
    await Promise.all(children.map((c) => c.exited));
    const events: HoldEvent[] = [];
    for (let i = 0; i < PROCESSES; i++) {
      events.push(...(JSON.parse(await readFile(join(dir, `events-${i}.json`), "utf8")) as HoldEvent[]));
    }
    expect(events).toHaveLength(PROCESSES * ITERATIONS);
    expect(new Set(events.map((e) => e.pid)).size).toBe(PROCESSES);
    const intervals = events
      .map((e) => ({ pid: e.pid, from: BigInt(e.acquiredAt), to: BigInt(e.releasedAt) }))
      .sort((a, b) => (a.from < b.from ? -1 : a.from > b.from ? 1 : 0));
    for (let i = 1; i < intervals.length; i++) {
      const [prev, next] = [intervals[i - 1]!, intervals[i]!];
      expect(next.from > prev.to, `pid ${next.pid} entered before pid ${prev.pid} left`).toBe(true);
    }
    const store = await createTokenStore(uri, { fernetKeys: ns.fernetKeys });
    try {
      expect((await store.get("counter"))?.access_token).toBe(String(PROCESSES * ITERATIONS));
    } finally {
      await store.close();
    }
  }, 60_000);

  describe("against a holder in another process", () => {
    let uri: string;
    let store: RedisTokenStore;
    beforeAll(async () => {
      uri = ns.uri(ns.prefix());
      store = await createTokenStore(uri, { fernetKeys: ns.fernetKeys });
    });
    afterAll(() => store.close());

    it("gives up with LOCK_TIMEOUT after about waitMs, without running fn", async () => {
      const holder = runChild(uri, ["hold", "30000"]);
      try {
        await holder.locked;
        let ran = false;
        const started = performance.now();
        const error = await store
          .withLock(
            "shared",
            async () => {
              ran = true;
            },
            { waitMs: 400 },
          )
          .catch((e: unknown) => e);
        const waited = performance.now() - started;
        expect((error as { code?: string }).code).toBe(LOCK_TIMEOUT);
        expect((error as Error).message).toContain("lock:shared");
        expect(ran).toBe(false);
        expect(waited).toBeGreaterThanOrEqual(390);
        expect(waited).toBeLessThan(1_500);
      } finally {
        holder.child.kill("SIGKILL");
        await holder.exited.catch(() => undefined);
        const raw = await rawClient();
        await raw.del(`${new URL(uri).searchParams.get("prefix")}lock:shared`);
        raw.destroy();
      }
    });

    it("takes over the lock of a holder killed with SIGKILL once its ttl runs out, not before", async () => {
      const ttlMs = 1_500;
      const holder = runChild(uri, ["hold", String(ttlMs)]);
      await holder.locked;
      const lockedAt = performance.now();
      holder.child.kill("SIGKILL");
      await holder.exited.catch(() => undefined);
      expect(await store.withLock("shared", async () => "mine", { waitMs: 10_000 })).toBe("mine");
      const waited = performance.now() - lockedAt;
      expect(waited).toBeGreaterThanOrEqual(ttlMs - 150);
      expect(waited).toBeLessThan(ttlMs + 1_500);
    });
  });

  it("a holder that overstayed its ttl cannot release the lock its successor now holds", async () => {
    const uri = ns.uri(ns.prefix());
    const lockKey = `${new URL(uri).searchParams.get("prefix")}lock:k`;
    // Two stores are two connections and two in-process queues: as good as two processes here.
    const [slow, fast] = await Promise.all([
      createTokenStore(uri, { fernetKeys: ns.fernetKeys }),
      createTokenStore(uri, { fernetKeys: ns.fernetKeys }),
    ]);
    const raw = await rawClient();
    try {
      let releaseSlow!: () => void;
      const slowDone = slow.withLock("k", () => new Promise<void>((resolve) => (releaseSlow = resolve)), {
        ttlMs: 200,
      });
      let successorOwner: string | null = null;
      await fast.withLock(
        "k",
        async () => {
          successorOwner = await raw.get(lockKey);
          releaseSlow(); // the slow holder finishes late and tries to release
          await slowDone;
          expect(await raw.get(lockKey)).toBe(successorOwner);
        },
        { ttlMs: 10_000, waitMs: 5_000 },
      );
      expect(successorOwner).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(await raw.exists(lockKey)).toBe(0);
    } finally {
      raw.destroy();
      await Promise.all([slow.close(), fast.close()]);
    }
  });
});

/** A store on a fresh prefix whose heartbeat runs on a manual clock, and a raw client to watch key "k"'s lock. */
async function onManualClock() {
  const uri = ns.uri(ns.prefix());
  const clock = new ManualClock(Date.now());
  return {
    lockKey: `${new URL(uri).searchParams.get("prefix")}lock:k`,
    clock,
    store: await createTokenStore(uri, { fernetKeys: ns.fernetKeys, clock }),
    raw: await rawClient(),
  };
}

describe.skipIf(!redisUp)("withLock holders that die or run long (lease renewed by a heartbeat)", () => {
  it("a live holder keeps its lock past the lease; killed with SIGKILL, its lock frees within the lease", async () => {
    const uri = ns.uri(ns.prefix());
    const lockKey = `${new URL(uri).searchParams.get("prefix")}lock:shared`;
    const store = await createTokenStore(uri, { fernetKeys: ns.fernetKeys });
    const raw = await rawClient();
    const holder = runChild(uri, ["hold", "30000"]);
    try {
      await holder.locked;
      // The key lives a lease, not the holder's 30 s ttl: that is what a dead holder costs.
      expect(await raw.pTTL(lockKey)).toBeLessThanOrEqual(LOCK_LEASE_MS);
      const owner = await raw.get(lockKey);
      // Alive, it keeps the lock for two leases and more: its heartbeat renews it.
      const waited = await store
        .withLock("shared", async () => "taken from a live holder", { waitMs: 2 * LOCK_LEASE_MS + 500 })
        .catch((e: unknown) => e);
      expect(waited).toMatchObject({ code: LOCK_TIMEOUT });
      expect(await raw.get(lockKey)).toBe(owner);
      holder.child.kill("SIGKILL");
      await holder.exited.catch(() => undefined);
      const killedAt = performance.now();
      expect(await store.withLock("shared", async () => "mine", { waitMs: 25_000 })).toBe("mine");
      expect(performance.now() - killedAt).toBeLessThan(LOCK_LEASE_MS + 1_000);
    } finally {
      holder.child.kill("SIGKILL");
      await holder.exited.catch(() => undefined);
      raw.destroy();
      await store.close();
    }
  }, 40_000);

  it("the heartbeat extends the holder's own lock and never one that was taken over", async () => {
    const { lockKey, clock, store, raw } = await onManualClock();
    try {
      await store.withLock(
        "k",
        async () => {
          expect(await raw.pTTL(lockKey)).toBeLessThanOrEqual(LOCK_LEASE_MS);
          await raw.pExpire(lockKey, 1_500); // most of the lease gone by
          await clock.advance(LOCK_HEARTBEAT_MS);
          await clock.untilSleeping(); // the beat went out and the heartbeat sleeps again
          expect(await raw.pTTL(lockKey)).toBeGreaterThan(LOCK_LEASE_MS - 1_000);
          // Another process took the lock over (the holder stalled past the lease).
          await raw.set(lockKey, "successor", { PX: 60_000 });
          await clock.advance(LOCK_HEARTBEAT_MS);
          await clock.untilSleeping();
          expect(await raw.get(lockKey)).toBe("successor");
          expect(await raw.pTTL(lockKey)).toBeGreaterThan(50_000);
        },
        { ttlMs: 30_000 },
      );
      expect(await raw.get(lockKey)).toBe("successor"); // nor did the release delete it
    } finally {
      await raw.del(lockKey);
      raw.destroy();
      await store.close();
    }
  });

  it("a hung holder is renewed only up to its ttlMs, then presumed dead", async () => {
    const { lockKey, clock, store, raw } = await onManualClock();
    try {
      await store.withLock(
        "k",
        async () => {
          await clock.advance(LOCK_HEARTBEAT_MS);
          await clock.untilSleeping();
          // 1.5 s of the 2.5 s ttl left: the lease is cut to it.
          const pttl = await raw.pTTL(lockKey);
          expect(pttl).toBeGreaterThan(1_000);
          expect(pttl).toBeLessThanOrEqual(1_500);
          await clock.advance(LOCK_HEARTBEAT_MS);
          await clock.untilSleeping();
          expect(await raw.pTTL(lockKey)).toBeLessThanOrEqual(500);
          await clock.advance(LOCK_HEARTBEAT_MS); // past the ttl: the heartbeat stops, the key expires
          expect(clock.sleeping).toBe(0);
        },
        { ttlMs: 2_500 },
      );
    } finally {
      raw.destroy();
      await store.close();
    }
  });
});
