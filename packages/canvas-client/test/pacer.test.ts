import { ManualClock } from "@easel/clock";
import { describe, expect, it } from "vitest";
import type { BudgetGrant, BudgetOutcome, BudgetRequest, RateLimitBudget } from "../src/budget.js";
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

/**
 * A budget in memory, as another process would see it through Redis: it records what the pacer
 * tells it, grants while `open`, answers "wait" otherwise, and rejects while `down`.
 */
class RecordingBudget implements RateLimitBudget {
  open = true;
  down = false;
  asked = 0;
  granted = 0;
  readonly released: Array<{ id: string; outcome: BudgetOutcome }> = [];

  async acquire(_request: BudgetRequest): Promise<BudgetGrant> {
    this.asked++;
    if (this.down) throw Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "TEST_DOWN" });
    if (!this.open) return { granted: false, retryInMs: 100 };
    return { granted: true, id: `g${this.granted++}` };
  }

  async release(id: string, outcome: BudgetOutcome): Promise<void> {
    if (this.down) throw new Error("connect ECONNREFUSED 127.0.0.1:1");
    this.released.push({ id, outcome });
  }
}

describe("Pacer with a shared budget", () => {
  function shared(budget: RecordingBudget, maxConcurrency = 4) {
    const clock = new ManualClock(Date.parse("2026-03-01T12:00:00Z"));
    const warnings: Array<Record<string, unknown>> = [];
    const ignore = () => {};
    const logger = {
      debug: ignore,
      info: ignore,
      warn: (f: Record<string, unknown>) => warnings.push(f),
      error: ignore,
    };
    const pacer = new Pacer(maxConcurrency, { ...CANVAS, budget }, clock, logger);
    return { clock, pacer, warnings };
  }

  it("starts only what the budget grants, and hands each answer's headers back with the grant", async () => {
    const budget = new RecordingBudget();
    const { clock, pacer } = shared(budget);
    await pacer.acquire();
    budget.open = false;
    const next = track(pacer.acquire());
    await settle();
    expect(next.started).toBe(false);
    pacer.observe(420.5, 1.25);
    pacer.release();
    expect(budget.released).toEqual([
      {
        id: "g0",
        outcome: {
          kind: "answer",
          now: clock.now(),
          model: { bucketSize: 600, leakPerSecond: 10, upFrontCost: 50, reserve: 0 },
          remaining: 420.5,
          cost: 1.25,
        },
      },
    ]);
    // The budget said "wait 100 ms" (on the injected clock), then grants.
    budget.open = true;
    await clock.untilSleeping();
    await clock.advance(100);
    await settle();
    expect(next.started).toBe(true);
    pacer.throttled(0);
    pacer.release();
    expect(budget.released[1]).toMatchObject({ id: "g1", outcome: { kind: "throttled" } });
  });

  it("budget unreachable: paces on its own view with one warning, and asks the budget again 5 s later", async () => {
    const budget = new RecordingBudget();
    const { clock, pacer, warnings } = shared(budget);
    budget.down = true;
    for (let i = 0; i < 3; i++) {
      await pacer.acquire();
      pacer.observe(500, 1);
      pacer.release();
    }
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ code: "RATE_LIMIT_BUDGET_UNAVAILABLE", cause: "TEST_DOWN" });
    // Asked once: the other starts did not wait on a dead budget.
    expect(budget.asked).toBe(1);
    budget.down = false;
    await clock.advance(5_000);
    await pacer.acquire();
    expect(budget.asked).toBe(2);
    expect(budget.granted).toBe(1);
    pacer.release();
    expect(budget.released).toMatchObject([{ id: "g0", outcome: { kind: "no-answer" } }]);
    expect(warnings).toHaveLength(1);
  });
});
