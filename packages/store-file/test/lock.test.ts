import { existsSync, readFileSync, utimesSync, writeFileSync } from "node:fs";
import { access } from "node:fs/promises";
import { join } from "node:path";
import { ManualClock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { LOCK_TIMEOUT, LockTimeoutError } from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { FileLock } from "../src/file-lock.js";
import { FileTokenStore } from "../src/index.js";
import { raceForLock, startWorker } from "./helpers.js";

const key = generateKey();

interface LockEvent {
  pid: number;
  acquiredAt: number;
  releasedAt: number;
}

/** A signal the code under test gives and the test waits for: no timer guesses when it came. */
function signal(): { promise: Promise<void>; fire: () => void } {
  let fire!: () => void;
  const promise = new Promise<void>((resolve) => (fire = resolve));
  return { promise, fire };
}

/**
 * What a holder does inside the critical section: a file-system round trip (as long as the other
 * waiters' own polls) that also checks the lock file is there while someone is inside.
 */
function insideTheLock(lockPath: string): Promise<void> {
  return access(lockPath);
}

function assertNoOverlap(events: LockEvent[]): void {
  const sorted = [...events].sort((a, b) => a.acquiredAt - b.acquiredAt);
  for (let i = 1; i < sorted.length; i++) {
    expect(
      sorted[i]!.acquiredAt,
      `pid ${sorted[i]!.pid} entered while pid ${sorted[i - 1]!.pid} held the lock`,
    ).toBeGreaterThanOrEqual(sorted[i - 1]!.releasedAt);
  }
}

describe("withLock across processes (file:PATH, the single shared cache)", () => {
  it("4 processes x 10 locked increments: exact count, no overlapping holders", async () => {
    const dir = tempDir();
    const path = join(dir, "cache.enc");
    const workers = [0, 1, 2, 3].map((i) =>
      startWorker(key, ["increment", `file:${path}`, "10", join(dir, `events-${i}.json`)]),
    );
    await Promise.all(workers.map((w) => w.done));
    const store = new FileTokenStore({ path, fernetKeys: key });
    expect((await store.get("counter"))?.access_token).toBe("40");
    const events = [0, 1, 2, 3].flatMap(
      (i) => JSON.parse(readFileSync(join(dir, `events-${i}.json`), "utf8")) as LockEvent[],
    );
    expect(events).toHaveLength(40);
    assertNoOverlap(events);
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 60_000);

  it("a lock whose holder was killed on another host is taken over once its ttl has passed, not before", async () => {
    const path = join(tempDir(), "cache.enc");
    const holder = startWorker(key, ["hold", `file:${path}`, "1000"]);
    await holder.ready;
    const lock = JSON.parse(readFileSync(`${path}.lock`, "utf8")) as { pid: number; expiresAt: number };
    expect(lock.pid).toBe(holder.child.pid);
    holder.child.kill("SIGKILL");
    await holder.done.catch(() => undefined);
    // A holder on another host (a shared volume) cannot be checked for life: only its ttl frees it.
    writeFileSync(`${path}.lock`, JSON.stringify({ ...lock, host: "another-host" }));
    const store = new FileTokenStore({ path, fernetKeys: key });
    const acquiredAt = await store.withLock("held", async () => Date.now(), { waitMs: 10_000 });
    expect(acquiredAt).toBeGreaterThanOrEqual(lock.expiresAt);
    expect(acquiredAt - lock.expiresAt).toBeLessThan(1_000);
  }, 30_000);

  it("LOCK_TIMEOUT after waitMs while a live process holds the lock, naming the lock and its holder", async () => {
    const path = join(tempDir(), "cache.enc");
    const holder = startWorker(key, ["hold", `file:${path}`, "30000"]);
    try {
      await holder.ready;
      const store = new FileTokenStore({ path, fernetKeys: key });
      const started = Date.now();
      const error = await store
        .withLock("held", async () => "never", { waitMs: 300 })
        .catch((e: unknown) => e);
      const waited = Date.now() - started;
      expect(error).toBeInstanceOf(LockTimeoutError);
      expect((error as LockTimeoutError).code).toBe(LOCK_TIMEOUT);
      expect((error as Error).message).toContain(`${path}.lock`);
      expect((error as Error).message).toContain(`pid ${holder.child.pid}`);
      expect(waited).toBeGreaterThanOrEqual(290);
      expect(waited).toBeLessThan(2_000);
    } finally {
      holder.child.kill("SIGKILL");
      await holder.done.catch(() => undefined);
    }
  }, 30_000);
});

describe("stale-lock takeover", () => {
  it("many waiters racing to take over one stale lock: exactly one holder at a time (40 rounds)", async () => {
    const path = join(tempDir(), "cache.enc");
    for (let round = 0; round < 40; round++) {
      // A lock left by a holder that died long ago.
      writeFileSync(
        `${path}.lock`,
        JSON.stringify({
          owner: `dead-${round}`,
          pid: 999_999,
          host: "gone",
          acquiredAt: 0,
          expiresAt: Date.now() - 1,
        }),
      );
      // Separate store instances do not share the in-process queue: they race on the file itself.
      const stores = Array.from({ length: 8 }, () => new FileTokenStore({ path, fernetKeys: key }));
      let inside = 0;
      let maxInside = 0;
      let entered = 0;
      await Promise.all(
        stores.map((store) =>
          store.withLock(
            "k",
            async () => {
              inside++;
              entered++;
              maxInside = Math.max(maxInside, inside);
              await insideTheLock(`${path}.lock`);
              inside--;
            },
            { ttlMs: 5_000, waitMs: 10_000 },
          ),
        ),
      );
      expect(maxInside).toBe(1);
      expect(entered).toBe(8);
    }
  }, 60_000);

  it("a holder that overstayed its ttl does not delete the lock of the process that took over", async () => {
    const path = join(tempDir(), "cache.enc");
    // Three stores, three in-process queues: they meet only on the lock file. One clock moves them.
    const clock = new ManualClock(Date.now());
    const slow = new FileTokenStore({ path, fernetKeys: key, clock });
    const taker = new FileTokenStore({ path, fernetKeys: key, clock });
    const third = new FileTokenStore({ path, fernetKeys: key, clock });
    const slowIn = signal();
    const slowMayLeave = signal();
    const takerIn = signal();
    const takerMayLeave = signal();
    const slowDone = slow.withLock(
      "k",
      async () => {
        slowIn.fire();
        await slowMayLeave.promise;
      },
      { ttlMs: 150 },
    );
    await slowIn.promise;
    const takerDone = taker.withLock(
      "k",
      async () => {
        takerIn.fire();
        await takerMayLeave.promise;
      },
      { ttlMs: 10_000, waitMs: 5_000 },
    );
    await clock.untilSleeping(); // the taker found the lock held and waits
    await clock.advance(150); // the slow holder overstays its ttl: the taker takes over
    await takerIn.promise;
    slowMayLeave.fire();
    await slowDone; // the slow holder finishes while the taker holds the lock
    expect(existsSync(`${path}.lock`)).toBe(true);
    const thirdTry = third.withLock("k", async () => "no", { waitMs: 100 });
    thirdTry.catch(() => undefined);
    await clock.untilSleeping();
    await clock.advance(100);
    await expect(thirdTry).rejects.toMatchObject({ code: LOCK_TIMEOUT });
    takerMayLeave.fire();
    await takerDone;
    expect(existsSync(`${path}.lock`)).toBe(false);
  });

  it("an unreadable lock file (not ours, or half-written) is judged by its age", async () => {
    const path = join(tempDir(), "cache.enc");
    writeFileSync(`${path}.lock`, "");
    const old = (Date.now() - 5_000) / 1000;
    utimesSync(`${path}.lock`, old, old);
    const store = new FileTokenStore({ path, fernetKeys: key });
    expect(await store.withLock("k", async () => "taken", { ttlMs: 1_000, waitMs: 500 })).toBe("taken");
    writeFileSync(`${path}.lock`, "garbage");
    await expect(store.withLock("k", async () => "no", { ttlMs: 5_000, waitMs: 100 })).rejects.toMatchObject({
      code: LOCK_TIMEOUT,
    });
  });

  it("the lock file holds owner, pid and expiry, and no secret", async () => {
    const path = join(tempDir(), "cache.enc");
    const store = new FileTokenStore({ path, fernetKeys: key });
    await store.set("k", { access_token: "lock-test-secret", token_type: "Bearer" });
    const content = await store.withLock("k", async () => readFileSync(`${path}.lock`, "utf8"), {
      ttlMs: 2_000,
    });
    const parsed = JSON.parse(content) as Record<string, unknown>;
    // `start` (the process start time that tells a reused pid from the holder) where /proc has it.
    const startField = existsSync("/proc/self/stat") ? ["start"] : [];
    expect(Object.keys(parsed).sort()).toEqual([
      "acquiredAt",
      "expiresAt",
      "host",
      "owner",
      "pid",
      ...startField,
    ]);
    expect(parsed.pid).toBe(process.pid);
    expect(Number(parsed.expiresAt) - Number(parsed.acquiredAt)).toBe(2_000);
    expect(content).not.toContain("lock-test-secret");
    expect(existsSync(`${path}.lock`)).toBe(false);
  });
});

describe("FileLock takeover race, widened", () => {
  it("waiters that pause between judging a lock stale and breaking it never hold it two at a time", async () => {
    const lockPath = join(tempDir(), "cache.enc.lock");
    let maxInside = 0;
    for (let round = 0; round < 30; round++) {
      writeFileSync(
        lockPath,
        JSON.stringify({
          owner: "dead",
          pid: 999_999,
          host: "gone",
          acquiredAt: 0,
          expiresAt: Date.now() - 1,
        }),
      );
      maxInside = Math.max(maxInside, await raceForLock(lockPath, 6, () => insideTheLock(lockPath)));
    }
    expect(maxInside).toBe(1);
  }, 60_000);
});

describe("FileLock takeover race, forced interleaving", () => {
  it("a waiter that judged a lock stale but finds a fresh lock when it gets to break it leaves it alone and waits", async () => {
    const lockPath = join(tempDir(), "cache.enc.lock");
    const clock = new ManualClock(Date.now());
    writeFileSync(
      lockPath,
      JSON.stringify({
        owner: "dead",
        pid: 999_999,
        host: "gone",
        acquiredAt: 0,
        expiresAt: clock.now() - 1,
      }),
    );
    const order: string[] = [];
    // A sees the stale lock, then stalls before breaking it; B breaks it and takes the lock meanwhile.
    const aJudgedStale = signal();
    const aMayBreak = signal();
    const slowWaiter = new FileLock(lockPath, {
      clock,
      hooks: {
        beforeBreak: async () => {
          aJudgedStale.fire();
          await aMayBreak.promise;
        },
      },
    });
    const fastWaiter = new FileLock(lockPath, { clock });
    const aDone = slowWaiter.acquire(5_000, 5_000, clock.now() + 5_000).then((owner) => {
      order.push("A acquired");
      return owner;
    });
    await aJudgedStale.promise;
    const bOwner = await fastWaiter.acquire(5_000, 5_000, clock.now() + 5_000);
    order.push("B acquired");
    aMayBreak.fire();
    await clock.untilSleeping(); // A went on, found B's fresh lock and waits: it must have left it alone
    expect(JSON.parse(readFileSync(lockPath, "utf8")).owner).toBe(bOwner);
    order.push("B releasing");
    await fastWaiter.release(bOwner);
    await clock.advance(1_000); // A's next look finds the lock free
    const aOwner = await aDone;
    expect(order).toEqual(["B acquired", "B releasing", "A acquired"]);
    await slowWaiter.release(aOwner);
    expect(existsSync(lockPath)).toBe(false);
  });
});
