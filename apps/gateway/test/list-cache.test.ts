import { describe, expect, it } from "vitest";
import { ListCache, type ListCacheSettings } from "../src/list-cache.js";

/** A cache on a clock the test moves, with a counting fetch per key. */
function setup(overrides: Partial<ListCacheSettings> = {}) {
  let now = 1_000;
  const lookups: string[] = [];
  const evictions: string[] = [];
  const cache = new ListCache({
    ttlMs: 60_000,
    maxEntries: 100,
    maxRows: 1_000,
    now: () => now,
    onLookup: (list, result) => lookups.push(`${list}:${result}`),
    onEvict: (reason) => evictions.push(reason),
    ...overrides,
  });
  const fetches: string[] = [];
  const read = (scope: string, courseId: number, rows = 1, value: unknown = `${scope}/${courseId}`) =>
    cache.read(
      scope,
      courseId,
      "roster",
      "",
      async () => {
        fetches.push(`${scope}/${courseId}`);
        return value;
      },
      { signal: undefined, rows: () => rows, refresh: false },
    );
  return {
    cache,
    read,
    fetches,
    lookups,
    evictions,
    tick: (ms: number) => {
      now += ms;
    },
  };
}

/** A fetch the test settles by hand, recording the signal it was given. */
function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const calls: Array<AbortSignal | undefined> = [];
  const fetch = (signal: AbortSignal | undefined) => {
    calls.push(signal);
    return promise;
  };
  return { promise, resolve, reject, fetch, calls };
}

describe("ListCache", () => {
  it("serves a stored list until its TTL passes, counted from the start of the fetch", async () => {
    const { read, fetches, tick, lookups } = setup();
    await read("s", 1);
    tick(59_999);
    expect(await read("s", 1)).toBe("s/1");
    expect(fetches).toEqual(["s/1"]);
    tick(1);
    await read("s", 1);
    expect(fetches).toEqual(["s/1", "s/1"]);
    expect(lookups).toEqual(["roster:miss", "roster:hit", "roster:miss"]);
  });

  it("keeps credentials apart: the same course and list under two scopes are two fetches", async () => {
    const { read, fetches } = setup();
    expect(await read("user:1", 7)).toBe("user:1/7");
    expect(await read("user:2", 7)).toBe("user:2/7");
    expect(await read("user:1", 7)).toBe("user:1/7");
    expect(fetches).toEqual(["user:1/7", "user:2/7"]);
  });

  it("holds at most maxEntries lists, least recently used out", async () => {
    const { cache, read, fetches, evictions } = setup({ maxEntries: 3 });
    for (const course of [1, 2, 3]) await read("s", course);
    await read("s", 1); // 1 is now the most recently used
    await read("s", 4); // evicts 2
    expect(cache.stats.entries).toBe(3);
    fetches.length = 0;
    await read("s", 1);
    await read("s", 3);
    await read("s", 2);
    expect(fetches).toEqual(["s/2"]);
    expect(evictions).toEqual(["lru", "lru"]);
  });

  it("holds at most maxRows rows across lists, and never stores one list bigger than that", async () => {
    const { cache, read, fetches } = setup({ maxRows: 100 });
    await read("s", 1, 60);
    await read("s", 2, 30);
    expect(cache.stats).toMatchObject({ entries: 2, rows: 90 });
    await read("s", 3, 30); // 120 > 100: course 1 goes
    expect(cache.stats).toMatchObject({ entries: 2, rows: 60 });
    await read("s", 4, 101);
    expect(cache.stats).toMatchObject({ entries: 2, rows: 60 });
    fetches.length = 0;
    await read("s", 4, 101);
    await read("s", 2, 30);
    expect(fetches).toEqual(["s/4"]);
  });

  it("shares one fetch among concurrent readers (single flight)", async () => {
    const { cache, lookups } = setup();
    const pending = deferred<string[]>();
    const opts = { signal: undefined, rows: (v: string[]) => v.length, refresh: false };
    const a = cache.read("s", 1, "summaries", "", pending.fetch, opts);
    const b = cache.read("s", 1, "summaries", "", pending.fetch, opts);
    expect(cache.stats.inFlight).toBe(1);
    pending.resolve(["x"]);
    expect(await a).toEqual(["x"]);
    expect(await b).toBe(await a);
    expect(pending.calls).toHaveLength(1);
    expect(lookups).toEqual(["summaries:miss", "summaries:shared"]);
    expect(cache.stats).toMatchObject({ entries: 1, rows: 1, inFlight: 0 });
  });

  it("does not store a failure: every waiter gets the error, the next reader fetches again", async () => {
    const { cache, read, fetches } = setup();
    const pending = deferred<string>();
    const opts = { signal: undefined, rows: () => 1, refresh: false };
    const a = cache.read("s", 1, "roster", "", pending.fetch, opts);
    const b = cache.read("s", 1, "roster", "", pending.fetch, opts);
    pending.reject(new Error("Canvas 503"));
    await expect(a).rejects.toThrow("Canvas 503");
    await expect(b).rejects.toThrow("Canvas 503");
    expect(cache.stats).toMatchObject({ entries: 0, inFlight: 0 });
    expect(await read("s", 1)).toBe("s/1");
    expect(fetches).toEqual(["s/1"]);
  });

  it("a reader that goes away leaves the others their answer; when all go, the fetch is aborted and not stored", async () => {
    const { cache } = setup();
    const pending = deferred<string>();
    const first = new AbortController();
    const second = new AbortController();
    const read = (signal: AbortSignal) =>
      cache.read("s", 1, "roster", "", pending.fetch, { signal, rows: () => 1, refresh: false });
    const a = read(first.signal);
    const b = read(second.signal);
    const fetchSignal = pending.calls[0]!;
    first.abort(new Error("client 1 left"));
    await expect(a).rejects.toThrow("client 1 left");
    expect(fetchSignal.aborted).toBe(false);
    second.abort(new Error("client 2 left"));
    await expect(b).rejects.toThrow("client 2 left");
    expect(fetchSignal.aborted).toBe(true);
    pending.resolve("late");
    await pending.promise;
    expect(cache.stats).toMatchObject({ entries: 0, inFlight: 0 });
  });

  it("an invalidation keeps a fetch already running from being stored; its callers still get it", async () => {
    const { cache, read, fetches } = setup();
    const pending = deferred<string>();
    const running = cache.read("s", 5, "roster", "", pending.fetch, {
      signal: undefined,
      rows: () => 1,
      refresh: false,
    });
    await read("s", 6);
    await read("other", 5);
    cache.invalidateCourse("s", 5);
    pending.resolve("before the write");
    expect(await running).toBe("before the write");
    expect(cache.stats.entries).toBe(2);
    fetches.length = 0;
    expect(await read("s", 5)).toBe("s/5");
    await read("s", 6);
    await read("other", 5);
    expect(fetches).toEqual(["s/5"]);
    cache.invalidateCourseEverywhere(5);
    await read("s", 5);
    await read("other", 5);
    await read("s", 6);
    expect(fetches).toEqual(["s/5", "s/5", "other/5"]);
  });

  it("refresh reads Canvas again and replaces the stored list", async () => {
    const { cache, lookups } = setup();
    let version = 0;
    const fetch = async () => `v${++version}`;
    const opts = (refresh: boolean) => ({ signal: undefined, rows: () => 1, refresh });
    expect(await cache.read("s", 1, "course", "", fetch, opts(false))).toBe("v1");
    expect(await cache.read("s", 1, "course", "", fetch, opts(true))).toBe("v2");
    expect(await cache.read("s", 1, "course", "", fetch, opts(false))).toBe("v2");
    expect(lookups).toEqual(["course:miss", "course:refresh", "course:hit"]);
  });

  it("with a TTL of 0 it is off: every read fetches, nothing is shared or stored", async () => {
    const { cache, read, fetches, lookups } = setup({ ttlMs: 0 });
    await Promise.all([read("s", 1), read("s", 1)]);
    await read("s", 1);
    expect(fetches).toHaveLength(3);
    expect(cache.stats).toMatchObject({ entries: 0, inFlight: 0 });
    expect(lookups).toEqual([]);
  });

  it("drops a watched job's course everywhere once, when the job is done", async () => {
    const { cache, read, fetches } = setup();
    await read("a", 3);
    await read("b", 3);
    cache.watchJob(42, 3);
    cache.jobDone(42);
    cache.jobDone(42);
    await read("a", 3);
    await read("b", 3);
    await read("a", 3);
    expect(fetches).toEqual(["a/3", "b/3", "a/3", "b/3"]);
  });
});
