/**
 * The token-store conformance suite: the executable spec of `TokenStore`. Every adapter runs
 * it with its own factory, as every keyv adapter runs `@keyv/test-suite`.
 *
 * The test API is passed in (vitest's `describe`/`it`), so runtime code never imports a test
 * runner; assertions use `node:assert/strict`.
 *
 * @example
 * ```ts
 * import { describe, it } from "vitest";
 * import { tokenStoreConformance } from "@easel/token-store/conformance";
 * tokenStoreConformance({ describe, it }, async ({ clock }) => new MyStore({ clock }), {
 *   childStoreModule: new URL("./child-store.mjs", import.meta.url).pathname,
 * });
 * ```
 */
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type Clock, ManualClock, systemClock } from "@easel/clock";
import { LOCK_TIMEOUT } from "./errors.js";
import type { TokenRecord } from "./record.js";
import type { LockOptions, TokenStore } from "./store.js";

type MaybePromise<T> = T | Promise<T>;

/** The part of a test runner the suite needs (vitest's and node:test's fit). */
export interface ConformanceTestApi {
  describe(name: string, fn: () => void): void;
  it(name: string, fn: () => Promise<void>, timeoutMs?: number): void;
}

/** What the suite hands a store factory. */
export interface StoreFactoryContext {
  /**
   * The clock the store must wait and expire on (pass it as the store's `clock` option): the
   * suite drives lock waits with a `ManualClock` instead of sleeping.
   */
  clock: Clock;
}

/**
 * Gives each test a fresh store over a fresh namespace (prefix, directory, Vault path), built on
 * `context.clock`.
 */
export type StoreFactory = (context: StoreFactoryContext) => MaybePromise<TokenStore>;

export interface ConformanceOptions {
  /**
   * Absolute path of an ES module exporting `createStore(): Promise<TokenStore>` that opens
   * the SAME backend namespace in another process (read `process.env.EASEL_CONFORMANCE_NS`
   * to find it). When given, the cross-process lock tests run with real child processes.
   */
  childStoreModule?: string;
  /**
   * Called before each multi-process test to name a namespace the parent and its children
   * share; the value reaches children as `EASEL_CONFORMANCE_NS`.
   */
  sharedNamespace?: () => MaybePromise<{ namespace: string; openStore: () => MaybePromise<TokenStore> }>;
  /** Child processes in the cross-process lock test. @default 4 */
  processes?: number;
  /** Lock acquisitions per child. @default 15 */
  iterationsPerProcess?: number;
  /**
   * How soon the lock of a holder killed with SIGKILL must be free again although its ttlMs
   * (30 s) has far to run: a liveness check or a short lease renewed by a live holder.
   * @default 10_000
   */
  deadHolderReleaseMs?: number;
}

const sampleRecord = (n = 1): TokenRecord => ({
  access_token: `access-${n}-${"x".repeat(40)}`,
  token_type: "Bearer",
  refresh_token: `refresh-${n}`,
  expires_at: 1_795_000_000.123456 + n,
  expires_in: 3600,
  scope: "url:GET|/api/v1/courses",
  user: { id: 42, name: "Sync Robot", global_id: "10000000000042", effective_locale: "en" },
});

/** Runs every group of the suite. */
export function tokenStoreConformance(
  api: ConformanceTestApi,
  makeStore: StoreFactory,
  options: ConformanceOptions = {},
): void {
  api.describe("token store conformance", () => {
    recordTests(api, makeStore);
    concurrencyTests(api, makeStore);
    lockTests(api, makeStore);
    lifecycleTests(api, makeStore);
    if (options.childStoreModule && options.sharedNamespace) crossProcessLockTests(api, options);
  });
}

async function withStore(
  makeStore: StoreFactory,
  fn: (store: TokenStore) => Promise<void>,
  clock: Clock = systemClock,
): Promise<void> {
  const store = await makeStore({ clock });
  try {
    await fn(store);
  } finally {
    await store.close();
  }
}

/** `get`/`set`/`delete` semantics and lossless round trips. */
export function recordTests(api: ConformanceTestApi, makeStore: StoreFactory): void {
  api.describe("records", () => {
    api.it(".get(key) of a key never set resolves undefined", () =>
      withStore(makeStore, async (store) => {
        assert.equal(await store.get("never-set"), undefined);
      }),
    );

    api.it(".set(key, record) then .get(key) returns an equal record", () =>
      withStore(makeStore, async (store) => {
        await store.set("k", sampleRecord());
        assert.deepEqual(await store.get("k"), sampleRecord());
      }),
    );

    api.it("unknown, nested and non-ASCII fields survive a round trip", () =>
      withStore(makeStore, async (store) => {
        const record: TokenRecord = {
          ...sampleRecord(),
          canvas_region: "us-east-1",
          real_user: { id: 7, name: "Zoë Ørsted-Łukasiewicz 李雷" },
          nested: { list: [1, "two", null, { three: true }], empty: {} },
          user: { id: 42, name: '名前, "quoted"', extra_user_field: "kept" },
        };
        await store.set("k", record);
        assert.deepEqual(await store.get("k"), record);
      }),
    );

    api.it("fractional expires_at (Python's time.time()) keeps its exact value", () =>
      withStore(makeStore, async (store) => {
        await store.set("k", { access_token: "a", token_type: "Bearer", expires_at: 1795000000.123456 });
        assert.equal((await store.get("k"))?.expires_at, 1795000000.123456);
      }),
    );

    api.it(".set replaces the whole record (no merge with the previous one)", () =>
      withStore(makeStore, async (store) => {
        await store.set("k", sampleRecord(1));
        await store.set("k", { access_token: "only", token_type: "Bearer" });
        assert.deepEqual(await store.get("k"), { access_token: "only", token_type: "Bearer" });
      }),
    );

    api.it("keys are independent, including keys with slashes, colons, spaces and unicode", () =>
      withStore(makeStore, async (store) => {
        const keys = ["default", "a/b", "tenant:1", "with space", "ünïcødé", "../escape"];
        for (const [i, key] of keys.entries()) await store.set(key, sampleRecord(i));
        for (const [i, key] of keys.entries()) assert.deepEqual(await store.get(key), sampleRecord(i), key);
      }),
    );

    api.it(".delete(key) removes the record and resolves true; false when there was none", () =>
      withStore(makeStore, async (store) => {
        await store.set("k", sampleRecord());
        assert.equal(await store.delete("k"), true);
        assert.equal(await store.get("k"), undefined);
        assert.equal(await store.delete("k"), false);
      }),
    );

    api.it(".set rejects a value that is not a token record and keeps the stored one", () =>
      withStore(makeStore, async (store) => {
        await store.set("k", sampleRecord());
        const notARecord = { token_type: "Bearer" } as unknown as TokenRecord;
        await assert.rejects(store.set("k", notARecord));
        assert.deepEqual(await store.get("k"), sampleRecord());
      }),
    );
  });
}

/** Concurrent writers never produce a torn record. */
export function concurrencyTests(api: ConformanceTestApi, makeStore: StoreFactory): void {
  api.describe("concurrency", () => {
    api.it("concurrent .set calls on one key leave exactly one of the written records, whole", () =>
      withStore(makeStore, async (store) => {
        // Large, self-consistent records make a torn write detectable.
        const records = Array.from({ length: 20 }, (_, i) => ({
          ...sampleRecord(i),
          access_token: `tok-${i}-${String(i).repeat(2000)}`,
          mirror: `tok-${i}-${String(i).repeat(2000)}`,
        }));
        const reads: Promise<TokenRecord | undefined>[] = [];
        await Promise.all(
          records.map(async (record) => {
            await store.set("k", record);
            reads.push(store.get("k"));
          }),
        );
        for (const read of [...(await Promise.all(reads)), await store.get("k")]) {
          assert.ok(read, "a read after a write returned nothing");
          assert.equal(read.access_token, read.mirror, "torn record");
          assert.ok(records.some((r) => r.access_token === read.access_token));
        }
      }),
    );
  });
}

/** In-process `withLock` semantics. */
export function lockTests(api: ConformanceTestApi, makeStore: StoreFactory): void {
  api.describe("withLock", () => {
    api.it("returns what fn returns", () =>
      withStore(makeStore, async (store) => {
        assert.equal(await store.withLock("k", async () => 42), 42);
      }),
    );

    api.it("excludes other holders of the same key: no two critical sections overlap", () =>
      withStore(makeStore, async (store) => {
        let inside = 0;
        let maxInside = 0;
        let counter = 0;
        await Promise.all(
          Array.from({ length: 8 }, () =>
            store.withLock("k", async () => {
              inside++;
              maxInside = Math.max(maxInside, inside);
              const seen = counter;
              // Give every other caller a turn of the event loop while we are inside.
              await nextTurn();
              counter = seen + 1;
              inside--;
            }),
          ),
        );
        assert.equal(maxInside, 1);
        assert.equal(counter, 8);
      }),
    );

    api.it("does not block a different key", () =>
      withStore(makeStore, async (store) => {
        let otherRan = false;
        await store.withLock("a", async () => {
          await store.withLock("b", async () => {
            otherRan = true;
          });
        });
        assert.equal(otherRan, true);
      }),
    );

    api.it("releases the lock when fn throws, and rethrows fn's error", () =>
      withStore(makeStore, async (store) => {
        const boom = new Error("boom");
        await assert.rejects(
          store.withLock("k", async () => {
            throw boom;
          }),
          (error) => error === boom,
        );
        assert.equal(await store.withLock("k", async () => "free", { waitMs: 2_000 }), "free");
      }),
    );

    api.it("fails with LOCK_TIMEOUT when the holder keeps it longer than waitMs", () => {
      const clock = new ManualClock(Date.now());
      return withStore(
        makeStore,
        async (store) => {
          const holder = holdLock(store, "k", { ttlMs: 30_000 });
          await holder.entered;
          const started = clock.now();
          // Sleeps pending before the waiter comes (a holder's heartbeat renewing its lease).
          const sleepingBefore = clock.sleeping;
          let gaveUpAt: number | undefined;
          const waiter = store
            .withLock("k", async () => undefined, { waitMs: 300 })
            .finally(() => {
              gaveUpAt = clock.now();
            });
          waiter.catch(() => undefined);
          await clock.untilSleeping(sleepingBefore + 1); // the waiter's own sleep
          await clock.advance(299);
          assert.equal(gaveUpAt, undefined, "gave up before waitMs had passed");
          await clock.advance(1);
          await assert.rejects(waiter, (error: { code?: string }) => error.code === LOCK_TIMEOUT);
          assert.equal(gaveUpAt, started + 300, "LOCK_TIMEOUT came later than waitMs");
          holder.release();
          await holder.done;
        },
        clock,
      );
    });

    api.it("a holder that overstays ttlMs is presumed dead and its lock taken over", () =>
      withStore(makeStore, async (store) => {
        // Real time: a backend may expire the lock itself (Redis PX), out of the suite's reach.
        const stuck = holdLock(store, "k", { ttlMs: 300 });
        await stuck.entered;
        const started = Date.now();
        assert.equal(await store.withLock("k", async () => "taken", { waitMs: 10_000 }), "taken");
        assert.ok(Date.now() - started >= 150, "took the lock before the holder's ttl ran out");
        stuck.release();
        await stuck.done;
      }),
    );
  });
}

/** `close()` semantics. */
export function lifecycleTests(api: ConformanceTestApi, makeStore: StoreFactory): void {
  api.describe("lifecycle", () => {
    api.it(".close() is idempotent", async () => {
      const store = await makeStore({ clock: systemClock });
      await store.close();
      await store.close();
    });
  });
}

const CHILD_SCRIPT = fileURLToPath(new URL("./conformance-child.js", import.meta.url));

interface LockEvent {
  pid: number;
  acquiredAt: number;
  releasedAt: number;
}

/** `withLock` across real processes: the guarantee a fleet-wide single refresh rests on. */
export function crossProcessLockTests(api: ConformanceTestApi, options: ConformanceOptions): void {
  const { childStoreModule, sharedNamespace } = options;
  if (!childStoreModule || !sharedNamespace) return;
  const processes = options.processes ?? 4;
  const iterations = options.iterationsPerProcess ?? 15;
  const deadHolderReleaseMs = options.deadHolderReleaseMs ?? 10_000;

  api.describe("withLock across processes", () => {
    api.it(
      `${processes} processes x ${iterations} increments under withLock: exact total, no overlapping holders`,
      async () => {
        const { namespace, openStore } = await sharedNamespace();
        const dir = await mkdtemp(join(tmpdir(), "easel-conformance-"));
        const store = await openStore();
        try {
          await store.set("counter", { access_token: "0", token_type: "Bearer" });
          const children = Array.from({ length: processes }, (_, i) =>
            runChild(childStoreModule, namespace, [
              "increment",
              String(iterations),
              join(dir, `events-${i}.json`),
            ]),
          );
          await Promise.all(children.map((c) => c.done));
          const total = Number((await store.get("counter"))?.access_token);
          assert.equal(total, processes * iterations);
          const events: LockEvent[] = [];
          for (let i = 0; i < processes; i++) {
            events.push(
              ...(JSON.parse(await readFile(join(dir, `events-${i}.json`), "utf8")) as LockEvent[]),
            );
          }
          events.sort((a, b) => a.acquiredAt - b.acquiredAt);
          assert.equal(events.length, processes * iterations);
          for (let i = 1; i < events.length; i++) {
            const prev = events[i - 1]!;
            const next = events[i]!;
            assert.ok(
              next.acquiredAt >= prev.releasedAt,
              `pid ${next.pid} acquired at ${next.acquiredAt} before pid ${prev.pid} released at ${prev.releasedAt}`,
            );
          }
        } finally {
          await store.close();
          await rm(dir, { recursive: true, force: true });
        }
      },
      120_000,
    );

    api.it(
      "a lock whose holder was killed (SIGKILL) is taken over after its ttl",
      async () => {
        const waited = await waitForKilledHolder(childStoreModule, await sharedNamespace(), 1_500, 15_000);
        assert.ok(waited < 12_000, `takeover took ${waited} ms`);
      },
      60_000,
    );

    api.it(
      `a holder killed (SIGKILL) with 30 s of its ttl to run frees the lock within ${deadHolderReleaseMs} ms`,
      async () => {
        const waited = await waitForKilledHolder(childStoreModule, await sharedNamespace(), 30_000, 25_000);
        assert.ok(waited < deadHolderReleaseMs, `the next holder waited ${waited} ms for a dead one`);
      },
      60_000,
    );
  });
}

/**
 * A child takes the lock with `ttlMs` and is killed with SIGKILL holding it; resolves with the
 * milliseconds the next `withLock` (waiting at most `waitMs`) took to get in.
 */
async function waitForKilledHolder(
  childStoreModule: string,
  { namespace, openStore }: { namespace: string; openStore: () => MaybePromise<TokenStore> },
  ttlMs: number,
  waitMs: number,
): Promise<number> {
  const holder = runChild(childStoreModule, namespace, ["hold", String(ttlMs)]);
  await holder.ready;
  holder.child.kill("SIGKILL");
  await holder.done.catch(() => undefined);
  const store = await openStore();
  try {
    const started = Date.now();
    assert.equal(await store.withLock("held", async () => "mine", { waitMs }), "mine");
    return Date.now() - started;
  } finally {
    await store.close();
  }
}

interface RunningChild {
  child: ChildProcess;
  ready: Promise<void>;
  done: Promise<void>;
}

function runChild(storeModule: string, namespace: string, args: string[]): RunningChild {
  const child = spawn(process.execPath, [CHILD_SCRIPT, storeModule, ...args], {
    env: { ...process.env, EASEL_CONFORMANCE_NS: namespace },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("locked")) resolve();
    });
    child.once("exit", () => reject(new Error(`child exited before taking the lock: ${stderr}`)));
  });
  ready.catch(() => undefined);
  const done = new Promise<void>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`child exited with ${code ?? signal}: ${stderr}`));
    });
  });
  return { child, ready, done };
}

interface HeldLock {
  /** Resolves once the holder is inside its critical section: the cue for the next step. */
  entered: Promise<void>;
  /** Lets the holder leave. */
  release: () => void;
  /** Settles when the holder's `withLock` does. */
  done: Promise<void>;
}

/** Takes the lock on `key` and keeps it until `release()`. */
function holdLock(store: TokenStore, key: string, options: LockOptions): HeldLock {
  let entered!: () => void;
  let release!: () => void;
  const enteredPromise = new Promise<void>((resolve) => (entered = resolve));
  const done = store.withLock(
    key,
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
        entered();
      }),
    options,
  );
  return { entered: enteredPromise, release: () => release(), done };
}
