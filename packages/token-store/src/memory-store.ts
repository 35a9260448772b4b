import { type Clock, systemClock } from "@easel/clock";
import { KeyedLock } from "./key-lock.js";
import type { TokenRecord } from "./record.js";
import type { LockOptions, TokenStore } from "./store.js";
import { parseTokenRecord } from "./validate.js";

/**
 * A store that lives and dies with the process (`memory:`). For the demo and tests; its lock
 * excludes callers inside this process only.
 */
export class MemoryStore implements TokenStore {
  readonly #records = new Map<string, string>();
  readonly #lock: KeyedLock;

  /** @param options.clock where lock ttls and waits run (a `ManualClock` in tests). */
  constructor(options: { clock?: Clock } = {}) {
    this.#lock = new KeyedLock(options.clock ?? systemClock);
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const json = this.#records.get(key);
    return json === undefined ? undefined : parseTokenRecord(JSON.parse(json), `memory:${key}`);
  }

  async set(key: string, record: TokenRecord): Promise<void> {
    // Stored as JSON so callers can never mutate a stored record through a shared reference.
    this.#records.set(key, JSON.stringify(parseTokenRecord(record, `memory:${key}`)));
  }

  async delete(key: string): Promise<boolean> {
    return this.#records.delete(key);
  }

  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T> {
    return this.#lock.run(key, fn, options);
  }

  async close(): Promise<void> {}
}
