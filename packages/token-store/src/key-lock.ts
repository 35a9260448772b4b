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
 */
export class KeyedLock {
  readonly #holders = new Map<string, Holder>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async run<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    const deadline = this.#now() + waitMs;
    for (;;) {
      const holder = this.#holders.get(key);
      if (!holder || holder.expiresAt <= this.#now()) break;
      const remaining = Math.min(deadline, holder.expiresAt) - this.#now();
      if (this.#now() >= deadline) {
        throw new LockTimeoutError(`Timed out after ${waitMs} ms waiting for the lock on "${key}".`, {
          location: key,
        });
      }
      await Promise.race([holder.released, delay(Math.max(1, remaining))]);
    }
    let release!: () => void;
    const released = new Promise<void>((resolve) => {
      release = resolve;
    });
    const mine: Holder = { expiresAt: this.#now() + ttlMs, release, released };
    this.#holders.set(key, mine);
    try {
      return await fn();
    } finally {
      if (this.#holders.get(key) === mine) this.#holders.delete(key);
      release();
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref?.();
  });
}
