import { ManualClock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { REDIS_URL, requireRedis, uniqueRedisPrefix } from "@easel/test-utils";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseSharedCacheUrl, type SharedCacheTarget } from "../src/replicas/cache-url.js";
import { SharedBackend } from "../src/replicas/shared-backend.js";
import { SharedLists } from "../src/replicas/shared-lists.js";

// The Redis tier of the list cache on its own, against real Redis, with a ManualClock for the
// lock-waiting bound: no test here sleeps.
const redisUp = await requireRedis("the shared list cache cases");

const KEY = generateKey();
const log = pino({ enabled: false });
const backends: SharedBackend[] = [];

function target(prefix: string): SharedCacheTarget {
  const parsed = parseSharedCacheUrl(`${REDIS_URL}/0?prefix=${encodeURIComponent(prefix)}`);
  if ("error" in parsed) throw new Error(parsed.error);
  return parsed;
}

function replica(
  prefix: string,
  clock: ManualClock,
  lockTtlMs = 5_000,
): { lists: SharedLists; backend: SharedBackend } {
  const backend = new SharedBackend({ target: target(prefix), fernetKeys: KEY, log });
  backends.push(backend);
  return { backend, lists: new SharedLists({ backend, ttlMs: 60_000, maxRows: 1_000, clock, lockTtlMs }) };
}

const noRefresh = { rows: (v: readonly unknown[]) => v.length, refresh: false, signal: undefined };

describe.skipIf(!redisUp)("the shared list tier (Redis)", () => {
  let prefix: string;
  beforeAll(() => {
    prefix = uniqueRedisPrefix("shared-lists");
  });
  afterAll(async () => {
    await Promise.all(backends.map((b) => b.close()));
  });

  it("one replica's stored list answers another; never another scope's", async () => {
    const clock = new ManualClock(Date.now());
    const a = replica(prefix, clock);
    const b = replica(prefix, clock);
    let fetches = 0;
    const fetch = async () => {
      fetches++;
      return [{ id: 1 }, { id: 2 }];
    };
    const first = await a.lists.read("user:1", 7, "roster", "", fetch, noRefresh);
    const second = await b.lists.read("user:1", 7, "roster", "", fetch, noRefresh);
    expect([first.outcome, second.outcome, fetches]).toEqual(["miss", "hit", 1]);
    expect(second.value).toEqual(first.value);
    // Another credential, same course and list: its own fetch, no hit.
    const other = await b.lists.read("user:2", 7, "roster", "", fetch, noRefresh);
    expect([other.outcome, fetches]).toEqual(["miss", 2]);
  });

  it("an invalidation on one replica is seen by the other (per scope, per course, everywhere)", async () => {
    const clock = new ManualClock(Date.now());
    const a = replica(prefix, clock);
    const b = replica(prefix, clock);
    let fetches = 0;
    const fetch = async () => [{ n: ++fetches }];
    await a.lists.read("svc:x", 9, "summaries", "", fetch, noRefresh);
    await a.lists.invalidate("svc:x", 9);
    expect((await b.lists.read("svc:x", 9, "summaries", "", fetch, noRefresh)).value).toEqual([{ n: 2 }]);
    await b.lists.invalidate(undefined, 9);
    expect((await a.lists.read("svc:x", 9, "summaries", "", fetch, noRefresh)).value).toEqual([{ n: 3 }]);
    await a.lists.invalidate("svc:x", undefined);
    expect((await b.lists.read("svc:x", 9, "summaries", "", fetch, noRefresh)).value).toEqual([{ n: 4 }]);
    expect((await a.lists.read("svc:x", 9, "summaries", "", fetch, noRefresh)).outcome).toBe("hit");
  });

  it("a waiter takes the value the lock holder stores, without fetching", async () => {
    const clock = new ManualClock(Date.now());
    const a = replica(prefix, clock);
    const b = replica(prefix, clock);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let fetches = 0;
    const slow = async () => {
      fetches++;
      await gate;
      return [{ id: 42 }];
    };
    const holderStartedAt = clock.now();
    const holder = a.lists.read("svc:y", 3, "roster", "", slow, noRefresh);
    // The holder has the lock once its fetch ran.
    await vitestUntil(() => fetches === 1);
    const waiter = b.lists.read("svc:y", 3, "roster", "", slow, noRefresh);
    await clock.untilSleeping(1);
    release();
    await holder;
    // Wake the waiter's poll: it finds the stored value.
    while (clock.sleeping > 0) await clock.advance(100);
    const result = await waiter;
    // The stored expiry travels with the value: one TTL from when the holder started its walk.
    expect(result).toEqual({ value: [{ id: 42 }], outcome: "shared", expiresAt: holderStartedAt + 60_000 });
    expect(fetches).toBe(1);
  });

  it("a holder that stores and releases between another's lookup and lock costs no second fetch", async () => {
    const clock = new ManualClock(Date.now());
    const a = replica(prefix, clock);
    // B's first lookup answers "not there", then stalls until A has fetched, stored and released.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let looked!: () => void;
    const missed = new Promise<void>((resolve) => {
      looked = resolve;
    });
    class StallingBackend extends SharedBackend {
      #stalled = false;
      override async getJson<T>(key: string): Promise<T | undefined> {
        const value = await super.getJson<T>(key);
        if (!this.#stalled) {
          this.#stalled = true;
          looked();
          await gate;
        }
        return value;
      }
    }
    const stalling = new StallingBackend({ target: target(prefix), fernetKeys: KEY, log });
    backends.push(stalling);
    const b = new SharedLists({ backend: stalling, ttlMs: 60_000, maxRows: 1_000, clock });
    let fetches = 0;
    const fetch = async () => [{ n: ++fetches }];
    const fromB = b.read("svc:gap", 4, "roster", "", fetch, noRefresh);
    await missed;
    const fromA = await a.lists.read("svc:gap", 4, "roster", "", fetch, noRefresh);
    release();
    expect(fromA).toEqual({ value: [{ n: 1 }], outcome: "miss" });
    expect(await fromB).toEqual({ value: [{ n: 1 }], outcome: "shared", expiresAt: clock.now() + 60_000 });
    expect(fetches).toBe(1);
  });

  it("a dead holder's lock delays the others by at most the lock TTL (on the injected clock)", async () => {
    const clock = new ManualClock(Date.now());
    const lockTtlMs = 3_000;
    const b = replica(prefix, clock, lockTtlMs);
    // A replica that took the lock and died: the key outlives it in Redis (far beyond our bound).
    const dead = replica(prefix, clock);
    const digestKey = await listKey(b.backend, "svc:z", 5, "roster");
    expect(await dead.backend.tryLock(`lock:${digestKey}`, "dead-owner", 600_000)).toBe(true);

    let fetches = 0;
    const waiter = b.lists.read(
      "svc:z",
      5,
      "roster",
      "",
      async () => {
        fetches++;
        return [{ id: 5 }];
      },
      noRefresh,
    );
    let settled = false;
    void waiter.finally(() => {
      settled = true;
    });
    const start = clock.now();
    // Move time only while the waiter sleeps between polls (its Redis round trips take real time).
    while (!settled) {
      await Promise.race([clock.untilSleeping(1), waiter.catch(() => undefined)]);
      if (settled) break;
      expect(fetches).toBe(0);
      await clock.advance(100);
    }
    expect(await waiter).toEqual({ value: [{ id: 5 }], outcome: "miss" });
    expect(fetches).toBe(1);
    // It gave up on the holder exactly when the lock's lifetime had passed on its clock.
    expect(clock.now() - start).toBeGreaterThanOrEqual(lockTtlMs);
    expect(clock.now() - start).toBeLessThanOrEqual(lockTtlMs + 100);
  });
});

/** The value key a read of (scope, course, list) with no variant uses now. */
async function listKey(
  backend: SharedBackend,
  scope: string,
  courseId: number,
  list: string,
): Promise<string> {
  const { scopeDigest } = await import("../src/replicas/shared-lists.js");
  const generations = await backend.counters([
    "gen:all",
    `gen:s:${scopeDigest(scope)}`,
    `gen:c:${courseId}`,
    `gen:sc:${scopeDigest(scope)}:${courseId}`,
  ]);
  return `list:${scopeDigest(scope)}:${courseId}:${list}::${generations.join(".")}`;
}

/** Resolves once `condition` holds, checking after each turn of the event loop (no timers). */
async function vitestUntil(condition: () => boolean): Promise<void> {
  for (let turns = 0; !condition(); turns++) {
    if (turns > 10_000) throw new Error("condition never held");
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
}
