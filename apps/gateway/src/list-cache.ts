/**
 * The cross-request cache of whole Canvas lists: what the per-request loaders fetch (a course,
 * its roster, summaries, assignments, submission chunks), kept for a short TTL under the identity
 * of the credential that read them, so a client paging a big course with `after`, or asking the
 * same thing twice, does not make Canvas walk the same lists again.
 *
 * Hand-written rather than `lru-cache`: the gateway needs an in-flight fetch shared by several
 * requests to be aborted only when ALL of them went away (one client hanging up must not fail
 * the others), and an invalidation to also stop fetches already running from being stored.
 *
 * With a shared tier (`EASEL_GATEWAY_CACHE`, see `shared/shared-lists.ts`) the values live in
 * Redis only, so every replica sees the same lists and the same invalidations; this class then
 * keeps just the in-flight map (one fetch per list per process, joined by later callers) in front
 * of the fleet-wide lock. `peek` sees nothing then: a replica must not decide differently from
 * another on what only it happens to hold.
 */

import type { SharedLists } from "./replicas/shared-lists.js";

/** The Canvas lists the cache holds: the `list` label of its metrics. */
export type ListKind =
  | "courses"
  | "course"
  | "roster"
  | "enrollment"
  | "assignments"
  | "summaries"
  | "summary"
  | "submissions";

/** How a lookup was answered: stored, joined a fetch already running, fetched, or told to skip the cache. */
export type LookupResult = "hit" | "shared" | "miss" | "refresh";

export interface ListCacheSettings {
  /** 0 disables the cache: every read goes to Canvas, nothing is shared. */
  ttlMs: number;
  maxEntries: number;
  maxRows: number;
  /** Milliseconds, monotonic. */
  now: () => number;
  /**
   * Every lookup; `expiresAt` (the `now` clock) when the answer was not fetched for this caller:
   * when the stored list, or the one being fetched, expires (what answers built on it may last).
   */
  onLookup?: (list: ListKind, result: LookupResult, expiresAt?: number) => void;
  onEvict?: (reason: "lru" | "expired") => void;
  /** The Redis tier shared by every replica. @default none (values in this process only) */
  shared?: SharedLists;
}

interface Entry {
  scope: string;
  courseId: number | undefined;
  value: unknown;
  rows: number;
  expiresAt: number;
}

interface Flight {
  startedAt: number;
  scope: string;
  courseId: number | undefined;
  promise: Promise<unknown>;
  controller: AbortController;
  waiters: number;
  settled: boolean;
  /** Invalidated (or superseded) while running: its result must not be stored. */
  stale: boolean;
}

function keyOf(scope: string, courseId: number | undefined, list: ListKind, variant: string): string {
  return `${scope}\n${courseId ?? ""}\n${list}\n${variant}`;
}

export class ListCache {
  readonly enabled: boolean;
  readonly #settings: ListCacheSettings;
  // A Map iterates in insertion order: re-inserting on use makes the first key the least recently used.
  readonly #entries = new Map<string, Entry>();
  readonly #flights = new Map<string, Flight>();
  /** Canvas jobs started through the gateway that change a course when they finish: id → course. */
  readonly #jobs = new Map<number, number>();
  readonly #shared: SharedLists | undefined;
  /** Shared-tier writes (primes, invalidations) not yet acknowledged by Redis. */
  readonly #pending = new Set<Promise<void>>();
  #rows = 0;

  constructor(settings: ListCacheSettings) {
    this.#settings = settings;
    this.enabled = settings.ttlMs > 0;
    this.#shared = this.enabled ? settings.shared : undefined;
  }

  /** Resolves once every shared-tier write issued so far reached Redis (or failed). */
  async settled(): Promise<void> {
    while (this.#pending.size > 0) await Promise.allSettled([...this.#pending]);
  }

  #track(write: Promise<void>): void {
    this.#pending.add(write);
    void write.finally(() => this.#pending.delete(write));
  }

  /** Lists stored, their rows (objects), and fetches running. */
  get stats(): { entries: number; rows: number; inFlight: number } {
    return { entries: this.#entries.size, rows: this.#rows, inFlight: this.#flights.size };
  }

  /** The view of one credential's lists, for one request. */
  scoped(scope: string, options: { signal?: AbortSignal; refresh?: boolean } = {}): ScopedLists {
    return new ScopedLists(this, scope, options.signal, options.refresh === true);
  }

  /** A fresh stored value, or undefined. Never fetches. */
  peek<T>(scope: string, courseId: number | undefined, list: ListKind, variant: string): T | undefined {
    if (!this.enabled || this.#shared) return undefined;
    return this.#fresh(keyOf(scope, courseId, list, variant))?.value as T | undefined;
  }

  /**
   * The stored value, else the running fetch's, else a new fetch's (stored when it succeeds and
   * nothing invalidated it meanwhile). `signal` lets this caller leave: the fetch itself is
   * aborted only when every caller waiting on it left.
   */
  read<T>(
    scope: string,
    courseId: number | undefined,
    list: ListKind,
    variant: string,
    fetch: (signal: AbortSignal | undefined) => Promise<T>,
    options: { signal: AbortSignal | undefined; rows: (value: T) => number; refresh: boolean },
  ): Promise<T> {
    if (!this.enabled) return fetch(options.signal);
    const key = keyOf(scope, courseId, list, variant);
    if (!options.refresh) {
      const entry = this.#shared ? undefined : this.#fresh(key);
      if (entry) {
        this.#entries.delete(key);
        this.#entries.set(key, entry);
        this.#settings.onLookup?.(list, "hit", entry.expiresAt);
        return Promise.resolve(entry.value as T);
      }
      const running = this.#flights.get(key);
      if (running) {
        this.#settings.onLookup?.(list, "shared", running.startedAt + this.#settings.ttlMs);
        return this.#join(key, running, options.signal) as Promise<T>;
      }
    }
    // With a shared tier the outcome is known only once Redis answered (reported below).
    if (!this.#shared) this.#settings.onLookup?.(list, options.refresh ? "refresh" : "miss");
    const previous = this.#flights.get(key);
    // A refresh supersedes a running fetch: its older answer must not overwrite the newer one.
    if (previous) previous.stale = true;
    const controller = new AbortController();
    const startedAt = this.#settings.now();
    const flight: Flight = {
      startedAt,
      scope,
      courseId,
      controller,
      waiters: 0,
      settled: false,
      stale: false,
      promise: Promise.resolve(),
    };
    flight.promise = (async () => {
      try {
        if (this.#shared) {
          const shared = this.#shared;
          const { value, outcome, expiresAt } = await shared.read(
            scope,
            courseId,
            list,
            variant,
            async () => {
              const fetched = await fetch(controller.signal);
              // Primes issued by the fetch land before the list does: another replica that sees
              // the list also sees them.
              await this.settled();
              return fetched;
            },
            { rows: options.rows, refresh: options.refresh, signal: controller.signal },
          );
          // Stored expiries are epoch ms (shared by replicas); lookups report on this cache's clock.
          const expiresHere =
            expiresAt === undefined ? undefined : this.#settings.now() + (expiresAt - shared.now());
          this.#settings.onLookup?.(list, options.refresh ? "refresh" : outcome, expiresHere);
          return value;
        }
        const value = await fetch(controller.signal);
        // The TTL counts from the start of the walk: no row is older than that.
        if (!flight.stale) this.#store(key, scope, courseId, value, options.rows(value), startedAt);
        return value;
      } finally {
        flight.settled = true;
        if (this.#flights.get(key) === flight) this.#flights.delete(key);
      }
    })();
    // Every caller may have left before it fails: the rejection is still handled.
    flight.promise.catch(() => {});
    this.#flights.set(key, flight);
    return this.#join(key, flight, options.signal) as Promise<T>;
  }

  /** Stores a value just fetched some other way (a course from the course list). */
  prime(
    scope: string,
    courseId: number | undefined,
    list: ListKind,
    variant: string,
    value: unknown,
    rows: number,
  ): void {
    if (!this.enabled) return;
    const key = keyOf(scope, courseId, list, variant);
    if (this.#flights.has(key)) return;
    if (this.#shared) {
      this.#track(this.#shared.prime(scope, courseId, list, variant, value, rows));
      return;
    }
    this.#store(key, scope, courseId, value, rows, this.#settings.now());
  }

  /** Drops a course's lists for one credential, and keeps fetches running for them from being stored. */
  invalidateCourse(scope: string, courseId: number): number {
    if (this.#shared) this.#track(this.#shared.invalidate(scope, courseId));
    return this.#invalidate((item) => item.scope === scope && item.courseId === courseId);
  }

  /** Drops a course's lists for every credential (a write went through: everyone's view changed). */
  invalidateCourseEverywhere(courseId: number): number {
    if (this.#shared) this.#track(this.#shared.invalidate(undefined, courseId));
    return this.#invalidate((item) => item.courseId === courseId);
  }

  /** Remembers a background job that will change `courseId` (at most 1,000, oldest out). */
  watchJob(progressId: number, courseId: number): void {
    // Shared: the job may be polled on another replica.
    if (this.#shared) this.#track(this.#shared.watchJob(progressId, courseId));
    this.#jobs.delete(progressId);
    this.#jobs.set(progressId, courseId);
    if (this.#jobs.size > 1_000) this.#jobs.delete(this.#jobs.keys().next().value as number);
  }

  /** A watched job finished: drop its course everywhere, once. */
  jobDone(progressId: number): void {
    if (this.#shared) this.#track(this.#shared.jobDone(progressId));
    const courseId = this.#jobs.get(progressId);
    if (courseId === undefined) return;
    this.#jobs.delete(progressId);
    this.invalidateCourseEverywhere(courseId);
  }

  /** Drops everything one credential stored (a user logged in again). */
  invalidateScope(scope: string): number {
    if (this.#shared) this.#track(this.#shared.invalidate(scope, undefined));
    return this.#invalidate((item) => item.scope === scope);
  }

  /** Drops every credential's lists (on every replica, with a shared tier). */
  clear(): void {
    if (this.#shared) this.#track(this.#shared.invalidate(undefined, undefined));
    this.#invalidate(() => true);
  }

  #invalidate(matches: (item: { scope: string; courseId: number | undefined }) => boolean): number {
    let dropped = 0;
    for (const [key, entry] of this.#entries) {
      if (!matches(entry)) continue;
      this.#entries.delete(key);
      this.#rows -= entry.rows;
      dropped++;
    }
    for (const [key, flight] of this.#flights) {
      if (!matches(flight)) continue;
      // Its callers still get its answer (they asked before the change); later callers fetch anew.
      flight.stale = true;
      this.#flights.delete(key);
    }
    return dropped;
  }

  #fresh(key: string): Entry | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt > this.#settings.now()) return entry;
    this.#entries.delete(key);
    this.#rows -= entry.rows;
    this.#settings.onEvict?.("expired");
    return undefined;
  }

  #store(
    key: string,
    scope: string,
    courseId: number | undefined,
    value: unknown,
    rows: number,
    startedAt: number,
  ): void {
    const { ttlMs, maxEntries, maxRows, now } = this.#settings;
    const expiresAt = startedAt + ttlMs;
    // One list bigger than the whole budget would only evict everything else.
    if (rows > maxRows || expiresAt <= now()) return;
    const old = this.#entries.get(key);
    if (old) {
      this.#entries.delete(key);
      this.#rows -= old.rows;
    }
    this.#entries.set(key, { scope, courseId, value, rows, expiresAt });
    this.#rows += rows;
    const time = now();
    for (const [oldest, entry] of this.#entries) {
      const expired = entry.expiresAt <= time;
      if (!expired && this.#entries.size <= maxEntries && this.#rows <= maxRows) break;
      this.#entries.delete(oldest);
      this.#rows -= entry.rows;
      this.#settings.onEvict?.(expired ? "expired" : "lru");
    }
  }

  #join(key: string, flight: Flight, signal: AbortSignal | undefined): Promise<unknown> {
    flight.waiters++;
    if (!signal) {
      return flight.promise.finally(() => {
        flight.waiters--;
      });
    }
    return new Promise((resolve, reject) => {
      let left = false;
      const leave = () => {
        if (left) return;
        left = true;
        signal.removeEventListener("abort", onAbort);
        flight.waiters--;
      };
      const onAbort = () => {
        leave();
        if (!flight.settled && flight.waiters === 0) {
          // Nobody wants it any more: stop the Canvas walk, and let the next caller start anew.
          flight.stale = true;
          if (this.#flights.get(key) === flight) this.#flights.delete(key);
          flight.controller.abort(signal.reason);
        }
        reject(signal.reason);
      };
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      flight.promise.then(
        (value) => {
          leave();
          resolve(value);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }
}

/** One request's view of one credential's cached lists (see `ListCache`). */
export class ScopedLists {
  readonly #cache: ListCache;
  readonly #scope: string;
  readonly #signal: AbortSignal | undefined;
  readonly #refresh: boolean;

  constructor(cache: ListCache, scope: string, signal: AbortSignal | undefined, refresh: boolean) {
    this.#cache = cache;
    this.#scope = scope;
    this.#signal = signal;
    this.#refresh = refresh;
  }

  /** The list from the cache, or fetched with this request's signal (and stored). */
  read<T>(
    courseId: number | undefined,
    list: ListKind,
    variant: string,
    fetch: (signal: AbortSignal | undefined) => Promise<T>,
    rows: (value: T) => number,
  ): Promise<T> {
    return this.#cache.read(this.#scope, courseId, list, variant, fetch, {
      signal: this.#signal,
      rows,
      refresh: this.#refresh,
    });
  }

  /** A stored list, if fresh (a request asked to refresh sees none). Never fetches. */
  peek<T>(courseId: number | undefined, list: ListKind, variant = ""): T | undefined {
    if (this.#refresh) return undefined;
    return this.#cache.peek<T>(this.#scope, courseId, list, variant);
  }

  prime(courseId: number | undefined, list: ListKind, variant: string, value: unknown, rows: number): void {
    this.#cache.prime(this.#scope, courseId, list, variant, value, rows);
  }

  /**
   * After a write to the course: its lists are read from Canvas again. A write Canvas accepted
   * changed what everyone sees (`everyone`); a refused one at most this credential's view.
   */
  invalidateCourse(courseId: number, options: { everyone?: boolean } = {}): Promise<void> {
    if (options.everyone) this.#cache.invalidateCourseEverywhere(courseId);
    else this.#cache.invalidateCourse(this.#scope, courseId);
    // Resolves when every replica will read the course anew (at once without a shared tier).
    return this.#cache.settled();
  }

  /** `progressId` is a job that changes `courseId`: `jobDone` drops the course when it ends. */
  watchJob(progressId: number, courseId: number): Promise<void> {
    this.#cache.watchJob(progressId, courseId);
    return this.#cache.settled();
  }

  jobDone(progressId: number): void {
    this.#cache.jobDone(progressId);
  }
}
