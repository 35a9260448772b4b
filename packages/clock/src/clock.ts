import { setTimeout as delay } from "node:timers/promises";

/**
 * Where code that waits or expires reads the time and waits. Inject a `ManualClock` in tests to
 * move time forward without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** Resolves after `ms` on this clock, or rejects with the signal's reason as soon as it aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock and real timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: async (ms, signal) => {
    if (signal?.aborted) throw signal.reason;
    if (ms <= 0) return;
    try {
      await delay(ms, undefined, { signal });
    } catch (error) {
      // node:timers wraps the reason in an AbortError; callers expect the signal's own reason.
      if (signal?.aborted) throw signal.reason;
      throw error;
    }
  },
};

/** Epoch seconds (possibly fractional), the unit of `TokenRecord.expires_at`. */
export function nowSeconds(clock: Clock): number {
  return clock.now() / 1000;
}
