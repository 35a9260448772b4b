import type { Clock } from "./clock.js";

interface PendingSleep {
  readonly wakeAt: number;
  readonly resolve: () => void;
}

/**
 * A clock that moves only when told to. `sleep()` resolves when `advance()` passes its wake-up
 * time, so a test drives backoff, expiry and lock TTLs without waiting, and can wait for code to
 * reach a sleep with `untilSleeping()` instead of guessing with a real timer.
 *
 * @example
 * const clock = new ManualClock(Date.parse("2026-01-01T00:00:00Z"));
 * const done = clock.sleep(5_000);
 * await clock.advance(5_000); // `done` resolves
 */
export class ManualClock implements Clock {
  #now: number;
  #pending: PendingSleep[] = [];
  #waiters: Array<{ count: number; resolve: () => void }> = [];

  constructor(startMs = 0) {
    this.#now = startMs;
  }

  now(): number {
    return this.#now;
  }

  /** How many sleeps are waiting for time to pass. */
  get sleeping(): number {
    return this.#pending.length;
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (ms <= 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const entry: PendingSleep = {
        wakeAt: this.#now + ms,
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        this.#pending = this.#pending.filter((p) => p !== entry);
        reject(signal?.reason);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#pending.push(entry);
      this.#notify();
    });
  }

  /** Moves time forward, waking every sleep due on the way in wake-up order. */
  async advance(ms: number): Promise<void> {
    const target = this.#now + ms;
    for (;;) {
      const next = this.#pending.reduce<PendingSleep | undefined>(
        (soonest, p) => (p.wakeAt <= target && (!soonest || p.wakeAt < soonest.wakeAt) ? p : soonest),
        undefined,
      );
      if (!next) break;
      this.#now = Math.max(this.#now, next.wakeAt);
      this.#pending = this.#pending.filter((p) => p !== next);
      next.resolve();
      // Let the woken code run (and perhaps sleep again) before looking for the next sleeper.
      await flushMicrotasks();
    }
    this.#now = target;
  }

  /** Sets the time without waking anyone whose wake-up time has not come (use `advance` for that). */
  set(ms: number): void {
    this.#now = ms;
  }

  /** Resolves once at least `count` sleeps are pending: "the code under test is now waiting". */
  untilSleeping(count = 1): Promise<void> {
    if (this.#pending.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push({ count, resolve }));
  }

  #notify(): void {
    const ready = this.#waiters.filter((w) => this.#pending.length >= w.count);
    this.#waiters = this.#waiters.filter((w) => this.#pending.length < w.count);
    for (const w of ready) w.resolve();
  }
}

async function flushMicrotasks(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}
