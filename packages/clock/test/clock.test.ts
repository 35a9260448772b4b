import { describe, expect, it } from "vitest";
import { backoffDelay, ManualClock, raceAbort, systemClock } from "../src/index.js";

describe("ManualClock", () => {
  it("wakes sleepers in wake-up order as time advances, and not before", async () => {
    const clock = new ManualClock(1_000);
    const woke: string[] = [];
    void clock.sleep(300).then(() => woke.push(`b@${clock.now()}`));
    void clock.sleep(100).then(() => woke.push(`a@${clock.now()}`));
    await clock.advance(99);
    expect(woke).toEqual([]);
    await clock.advance(150);
    expect(woke).toEqual(["a@1100"]);
    await clock.advance(51);
    expect(woke).toEqual(["a@1100", "b@1300"]);
    expect(clock.now()).toBe(1_300);
  });

  it("wakes a sleep that the woken code starts within the same advance", async () => {
    const clock = new ManualClock();
    const times: number[] = [];
    const loop = (async () => {
      for (let i = 0; i < 3; i++) {
        await clock.sleep(10);
        times.push(clock.now());
      }
    })();
    await clock.advance(30);
    await loop;
    expect(times).toEqual([10, 20, 30]);
  });

  it("rejects a sleep with the signal's reason when aborted, and forgets it", async () => {
    const clock = new ManualClock();
    const controller = new AbortController();
    const sleeping = clock.sleep(1_000, controller.signal);
    expect(clock.sleeping).toBe(1);
    controller.abort(new Error("stop"));
    await expect(sleeping).rejects.toThrow("stop");
    expect(clock.sleeping).toBe(0);
  });

  it("lets a test wait until the code under test is sleeping", async () => {
    const clock = new ManualClock();
    const reached = clock.untilSleeping(2);
    void clock.sleep(5);
    void clock.sleep(5);
    await reached;
    expect(clock.sleeping).toBe(2);
  });
});

describe("systemClock", () => {
  it("rejects with the signal's own reason", async () => {
    const controller = new AbortController();
    const reason = new Error("cancelled");
    const sleeping = systemClock.sleep(60_000, controller.signal);
    controller.abort(reason);
    await expect(sleeping).rejects.toBe(reason);
  });

  it("resolves a zero sleep at once", async () => {
    await expect(systemClock.sleep(0)).resolves.toBeUndefined();
  });
});

describe("backoffDelay", () => {
  it.each([
    [1, 0, 50],
    [1, 0.999_999, 100],
    [2, 0, 100],
    [3, 0.5, 300],
    [10, 0, 500],
    [10, 0.999_999, 1_000],
  ])("attempt %i with random %d waits %i ms", (attempt, random, expected) => {
    expect(backoffDelay(attempt, { baseMs: 100, maxMs: 1_000, random: () => random })).toBe(expected);
  });

  it("grows by the given factor", () => {
    expect(backoffDelay(3, { baseMs: 100, maxMs: 10_000, factor: 1.5, random: () => 0 })).toBe(113);
  });
});

describe("raceAbort", () => {
  it("passes the promise's value through", async () => {
    await expect(raceAbort(Promise.resolve(7), new AbortController().signal)).resolves.toBe(7);
  });

  it("gives up with the signal's reason when it aborts first", async () => {
    const controller = new AbortController();
    const never = new Promise<never>(() => {});
    const raced = raceAbort(never, controller.signal);
    controller.abort(new Error("gave up"));
    await expect(raced).rejects.toThrow("gave up");
  });
});
