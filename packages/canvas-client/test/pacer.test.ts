import { ManualClock } from "@easel/clock";
import { describe, expect, it } from "vitest";
import { Pacer, type PacingSettings } from "../src/pacer.js";

// Canvas's own bucket: 600 high-water mark, 50 up front, 10 a second.
const CANVAS: PacingSettings = {
  enabled: true,
  leakPerSecond: 10,
  upFrontCost: 50,
  bucketSize: 600,
  reserve: 0,
  serializeBelow: undefined,
  pauseBelow: undefined,
};

/** Lets every callback queued so far run (no time passes on the manual clock). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function track(promise: Promise<void>) {
  const state = { started: false, error: undefined as unknown };
  promise.then(
    () => {
      state.started = true;
    },
    (error: unknown) => {
      state.error = error;
    },
  );
  return state;
}

function setup(settings: Partial<PacingSettings> = {}, maxConcurrency = 4) {
  const clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
  const pacer = new Pacer(maxConcurrency, { ...CANVAS, ...settings }, clock);
  return { clock, pacer };
}

describe("Pacer", () => {
  it("starts up to maxConcurrency at once before any header is seen; the next waits for a release", async () => {
    const { pacer } = setup({}, 2);
    await pacer.acquire();
    await pacer.acquire();
    const third = track(pacer.acquire());
    await settle();
    expect(third.started).toBe(false);
    expect(pacer.snapshot()).toMatchObject({ inFlight: 2, rateLimitRemaining: undefined });
    pacer.release();
    await settle();
    expect(third.started).toBe(true);
  });

  it("waits exactly until the leak makes room for the next request's up-front cost", async () => {
    const { clock, pacer } = setup();
    await pacer.acquire();
    // Alone in flight, 45 units left: the next needs 50, 5 units = 500 ms of leak away.
    pacer.observe(45, 1);
    pacer.release();
    const next = track(pacer.acquire());
    await clock.untilSleeping();
    await clock.advance(499);
    await settle();
    expect(next.started).toBe(false);
    await clock.advance(1);
    await settle();
    expect(next.started).toBe(true);
  });

  it("reports the room left, leaking back with the clock", async () => {
    const { clock, pacer } = setup();
    await pacer.acquire();
    pacer.observe(100, 1);
    pacer.release();
    expect(pacer.snapshot().rateLimitRemaining).toBe(100);
    clock.set(clock.now() + 1000);
    expect(pacer.snapshot().rateLimitRemaining).toBe(110);
    await pacer.acquire();
    // A request in flight holds its up-front cost.
    expect(pacer.snapshot()).toMatchObject({ inFlight: 1, rateLimitRemaining: 60 });
    pacer.release();
  });

  it("after a throttle, pauses starts for the extra delay and lets one request in at a time", async () => {
    const { clock, pacer } = setup({ leakPerSecond: 1_000_000 });
    await pacer.acquire();
    pacer.throttled(200);
    pacer.release();
    const first = track(pacer.acquire());
    await clock.untilSleeping();
    await clock.advance(199);
    await settle();
    expect(first.started).toBe(false);
    await clock.advance(1);
    await settle();
    expect(first.started).toBe(true);

    const second = track(pacer.acquire());
    await settle();
    expect(pacer.snapshot().concurrencyLimit).toBe(1);
    expect(second.started).toBe(false);
    // A healthy answer grows the limit back by one.
    pacer.observe(500, 1);
    await settle();
    expect(second.started).toBe(true);
    expect(pacer.snapshot().inFlight).toBe(2);
  });

  it("ignores the headers with pacing off but still caps concurrency", async () => {
    const { pacer } = setup({ enabled: false }, 1);
    await pacer.acquire();
    pacer.observe(-50, 10);
    pacer.throttled(10_000);
    pacer.release();
    expect(pacer.snapshot().rateLimitRemaining).toBeUndefined();
    await pacer.acquire();
    const blocked = track(pacer.acquire());
    await settle();
    expect(blocked.started).toBe(false);
    pacer.release();
    await settle();
    expect(blocked.started).toBe(true);
  });

  it("an aborted waiter leaves the queue with the signal's reason; the next in line still gets the slot", async () => {
    const { pacer } = setup({}, 1);
    await pacer.acquire();
    const controller = new AbortController();
    const aborted = track(pacer.acquire(controller.signal));
    const after = track(pacer.acquire());
    controller.abort(new Error("caller gave up"));
    await settle();
    expect((aborted.error as Error).message).toBe("caller gave up");
    pacer.release();
    await settle();
    expect(aborted.started).toBe(false);
    expect(after.started).toBe(true);
  });

  it("close() rejects every waiter and cancels its wake-up", async () => {
    const { clock, pacer } = setup();
    await pacer.acquire();
    pacer.observe(0, 1);
    pacer.release();
    const waiting = track(pacer.acquire());
    await clock.untilSleeping();
    const reason = new Error("closed");
    pacer.close(reason);
    await settle();
    expect(waiting.error).toBe(reason);
    expect(clock.sleeping).toBe(0);
  });
});
