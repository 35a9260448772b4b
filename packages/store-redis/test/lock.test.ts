import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { requireRedis, startNode, tempDir } from "@easel/test-utils";
import { LOCK_TIMEOUT } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore, type RedisTokenStore } from "../src/index.js";
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
