import { type Clock, systemClock } from "@easel/clock";
import { LockTimeoutError } from "./errors.js";
import { DEFAULT_LOCK_TTL_MS, DEFAULT_LOCK_WAIT_MS, type LockOptions } from "./store.js";

interface Holder {
  expiresAt: number;
  release: () => void;
  released: Promise<void>;
}

/**
 * An in-process lock per key with the same semantics as the cross-process ones: a holder
 * that overstays `ttlMs` is presumed dead and taken over; a waiter gives up after `waitMs`.
 * Stores use it to serialise callers inside one process before they touch the backend.
 * Ttls and waits run on `clock`, so a `ManualClock` drives them in tests.
 */
export class KeyedLock {
  readonly #holders = new Map<string, Holder>();
  readonly #clock: Clock;

  constructor(clock: Clock = systemClock) {
    this.#clock = clock;
  }

  async run<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    const deadline = this.#clock.now() + waitMs;
    for (;;) {
      const holder = this.#holders.get(key);
      if (!holder || holder.expiresAt <= this.#clock.now()) break;
      const remaining = Math.min(deadline, holder.expiresAt) - this.#clock.now();
      if (this.#clock.now() >= deadline) {
        throw new LockTimeoutError(`Timed out after ${waitMs} ms waiting for the lock on "${key}".`, {
          location: key,
        });
      }
      // Wake on the holder's release or when its ttl or our wait runs out, whichever comes first;
      // the abort cancels the clock's timer once the release won.
      const wake = new AbortController();
      const timeUp = this.#clock.sleep(Math.max(1, remaining), wake.signal).catch(() => undefined);
      await Promise.race([holder.released, timeUp]);
      wake.abort();
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const mine: Holder = { expiresAt: this.#clock.now() + ttlMs, release, released };
    this.#holders.set(key, mine);
    try {
      return await fn();
    } finally {
      if (this.#holders.get(key) === mine) this.#holders.delete(key);
      release();
    }
  }
}
