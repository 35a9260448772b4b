import type { TokenRecord } from "./record.js";

export interface LockOptions {
  /**
   * How long the lock is held before another process may take it over (its holder is
   * presumed dead). Keep it longer than the critical section.
   * @default 30_000
   */
  ttlMs?: number;
  /**
   * How long to wait for another holder before failing with `LOCK_TIMEOUT`.
   * @default 60_000
   */
  waitMs?: number;
}

export const DEFAULT_LOCK_TTL_MS = 30_000;
export const DEFAULT_LOCK_WAIT_MS = 60_000;

/**
 * Where credentials live. Every adapter passes `@easel/token-store/conformance`.
 *
 * - `get` returns `undefined` only when no record exists; an unreadable record throws.
 * - `set` replaces the whole record atomically: readers never see a torn record.
 * - `withLock` is exclusive across every process that shares the backend: it is what makes
 *   "one refresh for the whole fleet" true.
 */
export interface TokenStore {
  get(key: string): Promise<TokenRecord | undefined>;
  set(key: string, record: TokenRecord): Promise<void>;
  delete(key: string): Promise<boolean>;
  withLock<T>(key: string, fn: () => Promise<T>, options?: LockOptions): Promise<T>;
  close(): Promise<void>;
}
