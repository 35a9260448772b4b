import { ManualClock } from "@easel/clock";
import { beforeEach, describe, expect, it } from "vitest";
import { LockTimeoutError } from "../src/errors.js";
import { KeyedLock } from "../src/key-lock.js";

/** A promise with its resolve, to hold a critical section open until the test lets go. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, opened };
}

// KeyedLock waits and reads `now` on its injected clock: a ManualClock here, moved by the test.
describe("KeyedLock", () => {
  let clock: ManualClock;
  beforeEach(() => {
    clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
  });

  it(".run(key, fn) serialises callers of one key, in order, and returns fn's value", async () => {
    const lock = new KeyedLock(clock);
    const order: string[] = [];
    const first = gate();
    const a = lock.run("k", async () => {
      order.push("a start");
      await first.opened;
      order.push("a end");
      return "a";
    });
    const b = lock.run("k", async () => {
      order.push("b");
      return "b";
    });
    await clock.advance(0);
    expect(order).toEqual(["a start"]);
    first.open();
    await expect(a).resolves.toBe("a");
    await expect(b).resolves.toBe("b");
    expect(order).toEqual(["a start", "a end", "b"]);
  });

  it(".run() on different keys does not wait", async () => {
    const lock = new KeyedLock(clock);
    const held = gate();
    const a = lock.run("one", () => held.opened);
    await expect(lock.run("two", async () => "free")).resolves.toBe("free");
    held.open();
    await a;
  });

  it("a holder that throws still releases the lock", async () => {
    const lock = new KeyedLock(clock);
    await expect(
      lock.run("k", async () => {
        throw new Error("boom");
      }),
    ).rejects.toThrow("boom");
    await expect(lock.run("k", async () => "next", { waitMs: 0 })).resolves.toBe("next");
  });

  it("a waiter gives up after waitMs with LockTimeoutError naming the key", async () => {
    const lock = new KeyedLock(clock);
    const held = gate();
    const holder = lock.run("course:1", () => held.opened, { ttlMs: 60_000 });
    const waiter = lock.run("course:1", async () => "never", { waitMs: 1000 });
    const outcome = waiter.catch((error: unknown) => error);
    await clock.advance(999);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await clock.advance(0);
    expect(settled).toBe(false);
    await clock.advance(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).code).toBe("LOCK_TIMEOUT");
    expect((error as Error).message).toContain('"course:1"');
    held.open();
    await holder;
  });

  it("a holder that overstays ttlMs is presumed dead and taken over", async () => {
    const lock = new KeyedLock(clock);
    const stuck = gate();
    void lock.run("k", () => stuck.opened, { ttlMs: 5000 });
    let ran = false;
    const takeover = lock.run(
      "k",
      async () => {
        ran = true;
      },
      { waitMs: 60_000 },
    );
    await clock.advance(4999);
    expect(ran).toBe(false);
    await clock.advance(1);
    await takeover;
    expect(ran).toBe(true);
    // The overstayed holder finishing late does not release its successor's lock.
    const successor = gate();
    const current = lock.run("k", () => successor.opened, { ttlMs: 60_000 });
    stuck.open();
    await clock.advance(0);
    const blocked = lock.run("k", async () => "after", { waitMs: 10 }).catch((error: unknown) => error);
    await clock.advance(10);
    expect(await blocked).toBeInstanceOf(LockTimeoutError);
    successor.open();
    await current;
  });
});
