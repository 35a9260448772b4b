import { createHash, randomBytes } from "node:crypto";
import { backoffDelay, type Clock, systemClock } from "@easel/clock";
import { type SharedBackend, SharedCacheUnavailableError } from "./shared-backend.js";

/** How a shared read was answered: stored in Redis, stored by another caller while we waited, or fetched. */
export type SharedOutcome = "hit" | "shared" | "miss";

export interface SharedListsSettings {
  backend: SharedBackend;
  /** Lifetime of a stored list, counted from the start of its Canvas walk. */
  ttlMs: number;
  /** A list with more rows is not stored (as in the in-process tier); also bounds the local copies. */
  maxRows: number;
  /** Local decoded copies kept at most (least recently used out). @default 1000 */
  maxEntries?: number;
  /** Waits and the lock-waiting bound run on it (a ManualClock in tests). @default systemClock */
  clock?: Clock;
  /**
   * How long a fetch may hold the fleet-wide lock of one list. Waiters give up on a holder after
   * this long on `clock` and fetch themselves, so a replica that died mid-walk delays the others
   * by at most this. @default 20000
   */
  lockTtlMs?: number;
}

/** Generation counters live far longer than any value, so an expired counter never revives old values. */
const GENERATION_TTL_MS = 2 * 86_400_000;
/** Waiters poll the value with a capped, jittered backoff: a GET is cheap, a late answer is not. */
const POLL = { baseMs: 10, maxMs: 100 };
/** A Canvas job this gateway started is remembered for a day. */
const JOB_TTL_MS = 86_400_000;

/** A scope (credential identity) as it appears in Redis: hashed, never a user id or key id. */
export function scopeDigest(scope: string): string {
  return createHash("sha256").update(scope).digest("base64url").slice(0, 22);
}

/**
 * The Redis tier of the list cache, shared by every replica: values under a key that carries the
 * credential scope (so no list ever crosses credentials) and the generation counters that
 * invalidate it, one fetch per list for the whole fleet (`SET NX PX` lock; the others poll for
 * the value), and best effort throughout: whenever Redis fails, the read goes to Canvas.
 *
 * Invalidation bumps a counter instead of deleting keys: a value written under the old
 * generation (by a fetch that started before the change) can never be read again, which is what
 * the in-process tier's `stale` flag does for one process. The old values expire by their TTL.
 */
interface Stored<T> {
  /** Epoch ms on the writer's clock: when the value stops being served, here and in Redis. */
  expiresAt: number;
  value: T;
}

interface LocalCopy {
  value: unknown;
  expiresAt: number;
  rows: number;
}

export class SharedLists {
  readonly #backend: SharedBackend;
  readonly #ttlMs: number;
  readonly #maxRows: number;
  readonly #maxEntries: number;
  readonly #clock: Clock;
  readonly #lockTtlMs: number;
  /**
   * Decoded copies of values this process read or wrote, by their Redis key. A key names one
   * generation of one list, so a copy is valid exactly as long as the key is current (checked on
   * every read, with the counters) and unexpired: a hit costs one round trip (the counters)
   * instead of two plus a decryption and a parse. Never consulted without the counters, so an
   * invalidation on another replica takes effect here at once.
   */
  readonly #local = new Map<string, LocalCopy>();
  #localRows = 0;

  constructor(settings: SharedListsSettings) {
    this.#backend = settings.backend;
    this.#ttlMs = settings.ttlMs;
    this.#maxRows = settings.maxRows;
    this.#maxEntries = settings.maxEntries ?? 1_000;
    this.#clock = settings.clock ?? systemClock;
    this.#lockTtlMs = settings.lockTtlMs ?? 20_000;
  }

  /**
   * The list from Redis, else the value another replica is fetching, else `fetch()`'s (stored).
   * `refresh` skips the lookup (and the lock) and overwrites. Canvas errors from `fetch` reach
   * the caller; Redis errors never do.
   */
  async read<T>(
    scope: string,
    courseId: number | undefined,
    list: string,
    variant: string,
    fetch: () => Promise<T>,
    options: { rows: (value: T) => number; refresh: boolean; signal: AbortSignal | undefined },
  ): Promise<{ value: T; outcome: SharedOutcome; expiresAt?: number }> {
    const startedAt = this.#clock.now();
    let key: string;
    try {
      key = await this.#valueKey(scope, courseId, list, variant);
    } catch (error) {
      return { value: await this.#degraded(error, fetch), outcome: "miss" };
    }
    const fetchAndStore = async (): Promise<T> => {
      const value = await fetch();
      await this.#store(key, value, options.rows(value), startedAt);
      return value;
    };
    if (options.refresh) return { value: await fetchAndStore(), outcome: "miss" };

    const lockKey = `lock:${key}`;
    const owner = randomBytes(12).toString("base64url");
    const giveUpAt = startedAt + this.#lockTtlMs;
    let fetching = false;
    const copy = this.#copy<T>(key);
    if (copy !== undefined) return { ...copy, outcome: "hit" };
    try {
      const stored = await this.#get<T>(key);
      if (stored !== undefined) return { ...stored, outcome: "hit" };
      for (let attempt = 1; ; attempt++) {
        if (await this.#backend.tryLock(lockKey, owner, this.#lockTtlMs)) {
          try {
            // Stored between our lookup and our lock (a holder before us finished and released
            // it in that gap): look again under the lock, or we would walk the list a second time.
            const late = await this.#get<T>(key);
            if (late !== undefined) return { ...late, outcome: "shared" };
            fetching = true;
            return { value: await fetchAndStore(), outcome: "miss" };
          } finally {
            this.#backend.unlock(lockKey, owner).catch(() => undefined);
          }
        }
        // Another replica walks this list: wait for its answer, never past the lock's lifetime.
        const remaining = giveUpAt - this.#clock.now();
        if (remaining <= 0) break;
        await this.#clock.sleep(Math.min(remaining, backoffDelay(attempt, POLL)), options.signal);
        const stored = await this.#get<T>(key);
        if (stored !== undefined) return { ...stored, outcome: "shared" };
      }
    } catch (error) {
      // Only Redis failures before our own fetch fall back to Canvas; Canvas errors propagate.
      if (fetching || !(error instanceof SharedCacheUnavailableError)) throw error;
      return { value: await fetch(), outcome: "miss" };
    }
    // The holder outlived the lock (dead, or hung): fetch without it rather than wait longer.
    return { value: await fetchAndStore(), outcome: "miss" };
  }

  /** Now on the clock stored expiries are read on (epoch ms, shared by the replicas). */
  now(): number {
    return this.#clock.now();
  }

  /** Stores a value fetched some other way (a course from the course list). Best effort. */
  async prime(
    scope: string,
    courseId: number | undefined,
    list: string,
    variant: string,
    value: unknown,
    rows: number,
  ) {
    try {
      const key = await this.#valueKey(scope, courseId, list, variant);
      await this.#store(key, value, rows, this.#clock.now());
    } catch {
      // The backend logged the outage once; a prime is only an optimisation.
    }
  }

  /**
   * Ends what every replica cached for the matching lists. `scope` undefined: every credential;
   * `courseId` undefined: every course of the scope; neither: everything.
   */
  async invalidate(scope: string | undefined, courseId: number | undefined): Promise<void> {
    const counter =
      scope === undefined
        ? courseId === undefined
          ? "gen:all"
          : `gen:c:${courseId}`
        : courseId === undefined
          ? `gen:s:${scopeDigest(scope)}`
          : `gen:sc:${scopeDigest(scope)}:${courseId}`;
    try {
      await this.#backend.bump(counter, GENERATION_TTL_MS);
    } catch {
      // Logged once by the backend. Values cached before the outage may outlive this change by
      // their TTL if Redis kept them (a partition, not a restart): see the README.
    }
  }

  /** Remembers, fleet-wide, a Canvas job that changes `courseId` when it finishes. */
  async watchJob(progressId: number, courseId: number): Promise<void> {
    try {
      await this.#backend.setJson(`job:${progressId}`, courseId, JOB_TTL_MS);
    } catch {
      // Best effort: the TTL still bounds how long the course's lists stay cached.
    }
  }

  /** A watched job finished (seen by any replica): its course is read from Canvas again, once. */
  async jobDone(progressId: number): Promise<void> {
    try {
      const courseId = await this.#backend.takeJson<number>(`job:${progressId}`);
      if (typeof courseId === "number") await this.invalidate(undefined, courseId);
    } catch {
      // As in watchJob.
    }
  }

  async #valueKey(
    scope: string,
    courseId: number | undefined,
    list: string,
    variant: string,
  ): Promise<string> {
    const digest = scopeDigest(scope);
    const counters = ["gen:all", `gen:s:${digest}`];
    if (courseId !== undefined) counters.push(`gen:c:${courseId}`, `gen:sc:${digest}:${courseId}`);
    const generations = await this.#backend.counters(counters);
    // A variant names a student (narrow reads): hashed like the scope, so keys carry no user ids.
    const shown = variant === "" ? "" : scopeDigest(`variant:${variant}`);
    return `list:${digest}:${courseId ?? "-"}:${list}:${shown}:${generations.join(".")}`;
  }

  async #store(key: string, value: unknown, rows: number, startedAt: number): Promise<void> {
    const expiresAt = startedAt + this.#ttlMs;
    const ttlMs = expiresAt - this.#clock.now();
    if (rows > this.#maxRows || ttlMs <= 0) return;
    this.#keep(key, value, rows, expiresAt);
    const stored: Stored<unknown> = { expiresAt, value };
    await this.#backend.setJson(key, stored, ttlMs).catch(() => undefined);
  }

  /** The value in Redis (and a local copy of it), if unexpired, with its expiry (epoch ms). */
  async #get<T>(key: string): Promise<{ value: T; expiresAt: number } | undefined> {
    const stored = await this.#backend.getJson<Stored<T>>(key);
    if (stored === undefined || !(stored.expiresAt > this.#clock.now())) return undefined;
    const rows = Array.isArray(stored.value) ? stored.value.length : 1;
    this.#keep(key, stored.value, rows, stored.expiresAt);
    return { value: stored.value, expiresAt: stored.expiresAt };
  }

  #copy<T>(key: string): { value: T; expiresAt: number } | undefined {
    const copy = this.#local.get(key);
    if (!copy) return undefined;
    this.#local.delete(key);
    if (copy.expiresAt <= this.#clock.now()) {
      this.#localRows -= copy.rows;
      return undefined;
    }
    this.#local.set(key, copy);
    return { value: copy.value as T, expiresAt: copy.expiresAt };
  }

  #keep(key: string, value: unknown, rows: number, expiresAt: number): void {
    if (rows > this.#maxRows) return;
    const old = this.#local.get(key);
    if (old) {
      this.#local.delete(key);
      this.#localRows -= old.rows;
    }
    this.#local.set(key, { value, rows, expiresAt });
    this.#localRows += rows;
    for (const [oldest, copy] of this.#local) {
      if (this.#local.size <= this.#maxEntries && this.#localRows <= this.#maxRows) break;
      this.#local.delete(oldest);
      this.#localRows -= copy.rows;
    }
  }

  async #degraded<T>(error: unknown, fetch: () => Promise<T>): Promise<T> {
    if (!(error instanceof SharedCacheUnavailableError)) throw error;
    return fetch();
  }
}
