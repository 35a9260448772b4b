/**
 * `TokenManager`, the token provider: hands out a valid token, refreshes it before expiry with a
 * buffer adapted to the token's lifetime, once per process (shared promise) and once per fleet
 * (`store.withLock`, re-read after acquiring), keeps working on a still-valid token through a failing
 * token endpoint or store, and refreshes once after a 401 that means "expired". Administration
 * (rotate, revoke, inspect) is `TokenAdmin` in token-admin.ts. Longer than 500 lines because the
 * single-flight, fleet lock and renewal-deferral paths share state and are clearest in one place.
 */
import { backoffDelay, type Clock, raceAbort, systemClock } from "@easel/clock";
import {
  LOCK_TIMEOUT,
  STORE_UNAVAILABLE,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
} from "@easel/token-store";
import type { DeveloperTokenStrategy } from "./developer-token.js";
import { AuthError, invalidArgument, ReauthorizationRequiredError, RefreshFailedError } from "./errors.js";
import { type AuthLogger, silentLogger } from "./logger.js";
import type { TokenProvider } from "./provider.js";
import { isoFromEpochSeconds, secondsLeft } from "./record.js";
import type { AuthStrategy, CallOptions } from "./strategy.js";
import { asError, nonNegativeInteger, positiveNumber } from "./util.js";

/** Options of {@link TokenManager}. Validated once, in the constructor. */
export interface TokenManagerOptions {
  /**
   * The record's key in the store (`EASEL_TOKEN_KEY`, `--key`).
   * @default "default"
   */
  key?: string | undefined;
  /**
   * A token with less than this many seconds left is refreshed before it is handed out. Capped
   * at a fifth of the lifetime the token was issued with, so a token shorter than the buffer is
   * refreshed about once per lifetime, never before every request. Env and CLI:
   * `EASEL_TOKEN_REFRESH_BUFFER`, `--refresh-buffer`.
   * @default 300
   */
  bufferSeconds?: number | undefined;
  /**
   * Where "now" comes from when judging expiry, and what waits between refresh retries.
   * @default systemClock (from `@easel/clock`)
   */
  clock?: Clock | undefined;
  /** Receives one line per refresh (operation, outcome, timing), never a secret. @default silent */
  logger?: AuthLogger | undefined;
  /**
   * How long the fleet lock is held before another process may presume this one dead. Retries
   * of a failing refresh stop well before it runs out.
   * @default 30_000
   */
  lockTtlMs?: number | undefined;
  /**
   * How long to wait for another process's refresh before failing with `LOCK_TIMEOUT`.
   * @default 60_000
   */
  lockWaitMs?: number | undefined;
  /**
   * Retries of a refresh that failed transiently (network, timeout, 5xx, 429) when the token has
   * run out. While it is still valid, a failed refresh (or an unreachable store) costs one
   * attempt: the valid token is handed out and the next attempt waits a growing backoff.
   * @default 3
   */
  refreshRetries?: number | undefined;
  /**
   * First backoff delay; doubles on each retry, with jitter.
   * @default 500
   */
  retryDelayMs?: number | undefined;
  /** Called for each refresh, wait and warning: for metrics. Must not throw. */
  onEvent?: ((event: TokenManagerEvent) => void) | undefined;
}

/** Why a refresh was attempted. */
export type RefreshReason = "expiry" | "unauthorized" | "forced";

export type TokenManagerEvent =
  | {
      type: "refresh";
      key: string;
      reason: RefreshReason;
      /**
       * `refreshed`: this process refreshed and stored the record. `skipped`: another caller or
       * process had already refreshed it. `reauth`: refused for good. `failed`: gave up on a
       * transient failure.
       */
      outcome: "refreshed" | "skipped" | "reauth" | "failed";
      durationMs: number;
      attempts: number;
    }
  | { type: "joined"; key: string }
  /**
   * The refresh or the store failed transiently while the token still had `secondsLeft`: it is
   * handed out meanwhile and renewal is tried again in `retryInMs`.
   */
  | { type: "renewal-deferred"; key: string; code: string; secondsLeft: number; retryInMs: number }
  | { type: "expiry-warning"; key: string; expiresAt: string };

/** Counters since the manager was built. */
export interface TokenManagerStats {
  /** Refreshes this process made and stored. */
  refreshes: number;
  /** Refreshes found unnecessary after taking the lock (another process did it). */
  skipped: number;
  /** Callers that joined a refresh already in flight in this process. */
  joined: number;
  /** Refreshes that gave up after transient failures. */
  failures: number;
  /** Refreshes refused for good. */
  reauthorizations: number;
  /** Total time spent waiting for the fleet lock. */
  lockWaitMs: number;
}

interface Refusal {
  /** The credential Canvas refused: the refresh token, or the access token when there is none. */
  credential: string;
  error: ReauthorizationRequiredError;
}

const WARNING_INTERVAL_MS = 6 * 3600 * 1000;

/** The refresh buffer never exceeds this share of the token's issued lifetime. */
const BUFFER_LIFETIME_SHARE = 0.2;
/** Longest wait between renewal attempts while a still-valid token is in use. */
const MAX_RENEWAL_DELAY_MS = 30_000;

/** Renewal failed transiently while the token was still valid: when to try again. */
interface Setback {
  attempt: number;
  retryAt: number;
}

/**
 * What `TokenAdmin` needs of a manager it administers, beyond the public surface: the same store,
 * clock and lock settings, the shared refresh flight, and a way to tell the manager what its
 * administration changed. Kept off the public surface (a module-level map, not a method).
 */
export interface ManagerInternals {
  readonly store: TokenStore;
  readonly clock: Clock;
  readonly logger: AuthLogger;
  /** Seconds before `record`'s expiry at which it is due for refresh (the adapted buffer). */
  bufferFor(record: TokenRecord): number;
  readonly lockOptions: { ttlMs: number; waitMs: number };
  /** A refresh whatever the expiry, through the manager's single flight and fleet lock. */
  forceRefresh(signal: AbortSignal | undefined): Promise<TokenRecord>;
  /**
   * The stored record changed under the lock (`record`), or was deleted (`undefined`).
   * `newCredential`: Canvas issued a new credential, so an earlier refusal no longer applies.
   */
  replaced(record: TokenRecord | undefined, newCredential?: boolean): void;
}

const internalsOf = new WeakMap<TokenManager, ManagerInternals>();

/** The internals of a manager built by this package; a `TypeError` for anything else. */
export function managerInternals(manager: TokenManager): ManagerInternals {
  const internals = internalsOf.get(manager);
  if (!internals) throw invalidArgument("TokenAdmin needs a TokenManager from @easel/auth");
  return internals;
}

/**
 * Hands out Canvas access tokens and keeps them alive: refreshes a token before it has less
 * than `bufferSeconds` left, and after Canvas rejects it. One refresh in flight per key per
 * process (a shared promise) and per fleet (`store.withLock(key)`, then a re-read: a process
 * that finds the record already refreshed uses it). The new record is stored before the lock
 * is released. A refusal for good leaves the stored record exactly as it was.
 *
 * What a person does to a credential (forced refresh, rotation, revocation, status) is
 * `TokenAdmin`'s job, built over a manager so both share one flight and one cache.
 *
 * @example
 * ```ts
 * const manager = new TokenManager(strategy, store, { key: "default" });
 * const token = await manager.getAccessToken();
 * ```
 */
export class TokenManager implements TokenProvider {
  readonly key: string;
  readonly strategy: AuthStrategy;
  readonly #store: TokenStore;
  readonly #bufferSeconds: number;
  readonly #clock: Clock;
  readonly #logger: AuthLogger;
  readonly #lockTtlMs: number;
  readonly #lockWaitMs: number;
  readonly #retries: number;
  readonly #retryDelayMs: number;
  readonly #onEvent: ((event: TokenManagerEvent) => void) | undefined;
  readonly #stats: TokenManagerStats = {
    refreshes: 0,
    skipped: 0,
    joined: 0,
    failures: 0,
    reauthorizations: 0,
    lockWaitMs: 0,
  };
  #cached: TokenRecord | undefined;
  #flight: Promise<TokenRecord> | undefined;
  #refusal: Refusal | undefined;
  #lastWarningAt = Number.NEGATIVE_INFINITY;
  #setback: Setback | undefined;
  /** When this process first saw an access token, for the lifetime of records without `expires_in`. */
  #firstSeen: { token: string; atSeconds: number } | undefined;

  constructor(strategy: AuthStrategy, store: TokenStore, options: TokenManagerOptions = {}) {
    if (!strategy || typeof strategy.refresh !== "function" || typeof strategy.revoke !== "function") {
      throw invalidArgument("strategy must come from developerToken() or oauth()");
    }
    if (!store || typeof store.get !== "function" || typeof store.withLock !== "function") {
      throw invalidArgument("store must be a TokenStore");
    }
    const key = options.key ?? "default";
    if (typeof key !== "string" || key === "") throw invalidArgument(`key must be a non-empty string`);
    this.key = key;
    this.strategy = strategy;
    this.#store = store;
    this.#bufferSeconds = nonNegative(options.bufferSeconds, 300, "bufferSeconds");
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#lockTtlMs = positiveNumber(options.lockTtlMs, 30_000, "lockTtlMs");
    this.#lockWaitMs = positiveNumber(options.lockWaitMs, 60_000, "lockWaitMs");
    this.#retries = nonNegativeInteger(options.refreshRetries, 3, "refreshRetries");
    this.#retryDelayMs = nonNegative(options.retryDelayMs, 500, "retryDelayMs");
    this.#onEvent = options.onEvent;
    internalsOf.set(this, {
      store,
      clock: this.#clock,
      logger: this.#logger,
      bufferFor: (record) => this.#bufferFor(record),
      lockOptions: { ttlMs: this.#lockTtlMs, waitMs: this.#lockWaitMs },
      forceRefresh: (signal) => this.#refreshOnce({ reason: "forced" }, signal),
      replaced: (record, newCredential = false) => {
        this.#cached = record;
        if (newCredential) this.#refusal = undefined;
      },
    });
  }

  /** The command that re-authorizes this key, e.g. `easel login --key ci`. */
  get remedy(): string {
    return this.key === "default" ? this.strategy.remedy : `${this.strategy.remedy} --key ${this.key}`;
  }

  stats(): Readonly<TokenManagerStats> {
    return { ...this.#stats };
  }

  /**
   * A token valid for at least the buffer, refreshing it first when it is not. When the refresh
   * or the store fails transiently while the current token is still valid, that token is handed
   * out and renewal is retried with backoff; only a token that has run out fails the call
   * (`REFRESH_FAILED`, or `STORE_UNAVAILABLE` when the store is still down).
   */
  async getAccessToken(options: CallOptions = {}): Promise<string> {
    const cached = this.#cached;
    if (cached && (this.#usable(cached) || this.#renewalPending(cached))) return this.#handOut(cached);
    return this.#handOut(await this.#renew(options.signal));
  }

  /** Reads the store and refreshes if needed; a transient failure keeps a still-valid token. */
  async #renew(signal: AbortSignal | undefined): Promise<TokenRecord> {
    try {
      if (this.#flight) return await this.#join(signal);
      let record = await this.#read();
      if (!this.#usable(record)) {
        const soft = this.#valid(record);
        record = await this.#refreshOnce({ reason: "expiry", soft }, signal);
      }
      this.#recovered();
      return record;
    } catch (caught) {
      const error = asError(caught);
      const current = this.#cached;
      if (!isTransient(error)) throw error;
      if (current && this.#valid(current)) {
        this.#deferRenewal(current, error);
        return current;
      }
      if (isStoreUnavailable(error)) {
        throw new StoreUnavailableError(
          `The token store is unreachable and the access token${current ? " in memory has expired" : " cannot be read"}; ` +
            "the job stops here and can be resumed once the store is back.",
          { cause: error, location: (error as { location?: string }).location },
        );
      }
      throw error;
    }
  }

  /** A renewal failed moments ago and the token is still valid: keep using it until the retry. */
  #renewalPending(record: TokenRecord): boolean {
    const setback = this.#setback;
    return setback !== undefined && this.#clock.now() < setback.retryAt && this.#valid(record);
  }

  #deferRenewal(current: TokenRecord, error: Error): void {
    const attempt = (this.#setback?.attempt ?? 0) + 1;
    const left = secondsLeft(current, this.#clock) ?? Number.POSITIVE_INFINITY;
    // The next try comes before the token runs out, so the last one is made while it still works.
    const retryInMs = Math.min(
      backoffDelay(attempt, { baseMs: this.#retryDelayMs, maxMs: MAX_RENEWAL_DELAY_MS }),
      Math.max(0, (left * 1000) / 2),
    );
    this.#setback = { attempt, retryAt: this.#clock.now() + retryInMs };
    const code = (error as { code?: unknown }).code;
    const fields = {
      op: "renew",
      key: this.key,
      code: typeof code === "string" ? code : error.name,
      secondsLeft: Math.round(left),
      retryInMs,
      attempt,
    };
    // One warning per outage, not one per retry.
    if (attempt === 1) {
      this.#logger.warn(
        { ...fields, error: error.message },
        isStoreUnavailable(error)
          ? "token store unreachable; working on the valid token in memory and retrying the store"
          : "token refresh failed transiently; using the still-valid token and retrying with backoff",
      );
    } else {
      this.#logger.debug(fields, "token renewal still failing; retrying with backoff");
    }
    this.#emit({
      type: "renewal-deferred",
      key: this.key,
      code: fields.code,
      secondsLeft: fields.secondsLeft,
      retryInMs,
    });
  }

  #recovered(): void {
    if (this.#setback === undefined) return;
    this.#logger.info(
      { op: "renew", key: this.key, attempts: this.#setback.attempt + 1 },
      "token renewal works again",
    );
    this.#setback = undefined;
  }

  /**
   * After Canvas answered 401 + `WWW-Authenticate` for `rejectedToken`: refreshes only if the
   * store still holds that token; otherwise another caller or process already replaced it and
   * the newer one is returned.
   */
  async handleUnauthorized(rejectedToken: string, options: CallOptions = {}): Promise<string> {
    if (typeof rejectedToken !== "string" || rejectedToken === "") {
      throw invalidArgument("handleUnauthorized() needs the access token Canvas rejected");
    }
    if (this.#flight) {
      const joined = await this.#join(options.signal);
      if (joined.access_token !== rejectedToken) return joined.access_token;
    }
    const stored = await this.#read();
    if (stored.access_token !== rejectedToken && this.#usable(stored)) return stored.access_token;
    for (let round = 0; round < 2; round++) {
      const next = await this.#refreshOnce(
        { reason: "unauthorized", rejected: rejectedToken },
        options.signal,
      );
      if (next.access_token !== rejectedToken) return next.access_token;
    }
    // Unreachable in practice: a refresh always yields a new token or throws.
    throw new ReauthorizationRequiredError("Canvas keeps rejecting the stored token.", {
      remedy: this.remedy,
    });
  }

  #handOut(record: TokenRecord): string {
    this.#cached = record;
    if (!this.strategy.refreshable) this.#maybeWarn(record);
    return record.access_token;
  }

  async #read(): Promise<TokenRecord> {
    const record = await this.#store.get(this.key);
    if (!record) throw this.#missing();
    this.#cached = record;
    return record;
  }

  #missing(): ReauthorizationRequiredError {
    return new ReauthorizationRequiredError(`No Canvas credential is stored under key "${this.key}".`, {
      remedy: this.remedy,
    });
  }

  /** Refreshable records need more than the buffer left; others only need to be unexpired. */
  #usable(record: TokenRecord): boolean {
    const left = secondsLeft(record, this.#clock);
    if (left === undefined) return true;
    return this.strategy.refreshable ? left > this.#bufferFor(record) : left > 0;
  }

  /** Not expired yet (a record without expiry never is). */
  #valid(record: TokenRecord): boolean {
    const left = secondsLeft(record, this.#clock);
    return left === undefined || left > 0;
  }

  /**
   * The configured buffer, capped at a share of the lifetime the token was issued with
   * (`expires_in`, or else its expiry minus when this process first saw it): a 60 s token with a
   * 300 s buffer is refreshed 12 s before it expires, not before every request.
   */
  #bufferFor(record: TokenRecord): number {
    const lifetime = this.#lifetimeOf(record);
    return lifetime === undefined
      ? this.#bufferSeconds
      : Math.min(this.#bufferSeconds, lifetime * BUFFER_LIFETIME_SHARE);
  }

  #lifetimeOf(record: TokenRecord): number | undefined {
    const issued = record.expires_in;
    if (typeof issued === "number" && Number.isFinite(issued) && issued > 0) return issued;
    if (typeof record.expires_at !== "number") return undefined;
    const seen = this.#firstSeen;
    if (seen?.token !== record.access_token) {
      this.#firstSeen = { token: record.access_token, atSeconds: this.#clock.now() / 1000 };
    }
    return Math.max(0, record.expires_at - this.#firstSeen!.atSeconds);
  }

  async #join(signal: AbortSignal | undefined): Promise<TokenRecord> {
    this.#stats.joined++;
    this.#emit({ type: "joined", key: this.key });
    return raceAbort(this.#flight!, signal);
  }

  /** One refresh per key per process: callers arriving meanwhile share its promise. */
  #refreshOnce(request: RefreshRequest, signal: AbortSignal | undefined): Promise<TokenRecord> {
    if (this.#flight) return this.#join(signal);
    const flight = this.#refreshUnderLock(request).finally(() => {
      if (this.#flight === flight) this.#flight = undefined;
    });
    this.#flight = flight;
    return raceAbort(flight, signal);
  }

  async #refreshUnderLock(request: RefreshRequest): Promise<TokenRecord> {
    const started = performance.now();
    return this.#store.withLock(
      this.key,
      async () => {
        this.#stats.lockWaitMs += performance.now() - started;
        // Re-read under the lock: another process may have refreshed while we waited.
        const current = await this.#read();
        if (this.#alreadyRefreshed(current, request)) {
          this.#stats.skipped++;
          this.#report(request.reason, "skipped", started, 0);
          return current;
        }
        const refusal = this.#refusal;
        if (refusal && refusal.credential === credentialOf(current)) {
          // Canvas already refused this very credential: do not ask again.
          this.#report(request.reason, "reauth", started, 0, refusal.error);
          throw refusal.error;
        }
        const { record, attempts } = await this.#refreshWithRetries(current, request, started);
        // Kept in memory first: should the store fail now, the new token still serves this process.
        this.#cached = record;
        // Written before the lock is released, so no process can use the old refresh token after
        // Canvas rotated it, and no process refreshes again what we just refreshed.
        await this.#store.set(this.key, record);
        this.#stats.refreshes++;
        this.#report(request.reason, "refreshed", started, attempts);
        return record;
      },
      this.#lockOptions(),
    );
  }

  #alreadyRefreshed(current: TokenRecord, request: RefreshRequest): boolean {
    if (request.reason === "forced") return false;
    if (request.rejected !== undefined) {
      return current.access_token !== request.rejected && this.#usable(current);
    }
    return this.#usable(current);
  }

  async #refreshWithRetries(
    current: TokenRecord,
    request: RefreshRequest,
    started: number,
  ): Promise<{ record: TokenRecord; attempts: number }> {
    const { reason } = request;
    // A token that still works is handed out while the caller backs off: one attempt here.
    const retries = request.soft ? 0 : this.#retries;
    // Retries stop well inside the lock's TTL, so no other process takes the lock over (and
    // refreshes with a refresh token we may be rotating) while we are still at it.
    const budgetMs = this.#lockTtlMs * 0.6;
    for (let attempt = 1; ; attempt++) {
      try {
        return { record: await this.strategy.refresh(current), attempts: attempt };
      } catch (caught) {
        const error = asError(caught);
        if (error instanceof ReauthorizationRequiredError) {
          const reauth = new ReauthorizationRequiredError(error.message, {
            status: error.status,
            endpoint: error.endpoint,
            requestId: error.requestId,
            remedy: this.remedy,
            cause: error,
          });
          this.#refusal = { credential: credentialOf(current), error: reauth };
          this.#stats.reauthorizations++;
          this.#report(reason, "reauth", started, attempt, reauth);
          throw reauth;
        }
        const retryable = error instanceof RefreshFailedError && error.retryable;
        // Uncapped: the budget below decides whether a delay is waited at all.
        const delay = backoffDelay(attempt, { baseMs: this.#retryDelayMs, maxMs: Number.POSITIVE_INFINITY });
        if (retryable && attempt <= retries && elapsed(started) + delay < budgetMs) {
          this.#logger.warn(
            {
              op: "refresh",
              key: this.key,
              outcome: "retrying",
              attempt,
              status: error.status,
              delayMs: delay,
            },
            "token refresh failed transiently; retrying",
          );
          await this.#clock.sleep(delay);
          continue;
        }
        this.#stats.failures++;
        this.#report(reason, "failed", started, attempt, error);
        if (retryable) {
          throw new RefreshFailedError(
            `${error.message} Gave up after ${attempt} attempt${attempt === 1 ? "" : "s"}; the stored ` +
              "credential is unchanged and the next run will try again.",
            {
              status: error.status,
              endpoint: error.endpoint,
              requestId: error.requestId,
              attempts: attempt,
              cause: error,
            },
          );
        }
        throw error;
      }
    }
  }

  #report(
    reason: RefreshReason,
    outcome: "refreshed" | "skipped" | "reauth" | "failed",
    started: number,
    attempts: number,
    error?: Error,
  ): void {
    const durationMs = elapsed(started);
    const fields: Record<string, unknown> = {
      op: "refresh",
      key: this.key,
      reason,
      outcome,
      ms: durationMs,
      attempts,
    };
    if (error instanceof AuthError) {
      fields.code = error.code;
      if (error.status !== undefined) fields.status = error.status;
      if (error.requestId !== undefined) fields.requestId = error.requestId;
    }
    if (outcome === "reauth" || outcome === "failed") {
      this.#logger.error({ ...fields, error: error?.message }, `token refresh ${outcome}`);
    } else {
      this.#logger.info(fields, `token refresh ${outcome}`);
    }
    this.#emit({ type: "refresh", key: this.key, reason, outcome, durationMs, attempts });
  }

  #maybeWarn(record: TokenRecord): void {
    const left = secondsLeft(record, this.#clock);
    const window = (this.strategy as Partial<DeveloperTokenStrategy>).expiryWarningSeconds;
    if (left === undefined || window === undefined || left > window) return;
    const now = this.#clock.now();
    if (now - this.#lastWarningAt < WARNING_INTERVAL_MS) return;
    this.#lastWarningAt = now;
    const expiresAt = isoFromEpochSeconds(record.expires_at)!;
    this.#logger.warn(
      { op: "token-expiry", key: this.key, expiresAt, daysLeft: Math.max(0, Math.floor(left / 86_400)) },
      "developer token expires soon: run `easel token rotate` (or create a new token and `easel token import`)",
    );
    this.#emit({ type: "expiry-warning", key: this.key, expiresAt });
  }

  #lockOptions(): { ttlMs: number; waitMs: number } {
    return { ttlMs: this.#lockTtlMs, waitMs: this.#lockWaitMs };
  }

  #emit(event: TokenManagerEvent): void {
    try {
      this.#onEvent?.(event);
    } catch {
      // A metrics hook must never break token handling.
    }
  }
}

interface RefreshRequest {
  reason: RefreshReason;
  /** The token Canvas rejected (after a 401). */
  rejected?: string;
  /** The current token is still valid: fail fast, the caller keeps using it. */
  soft?: boolean;
}

function isStoreUnavailable(error: Error): boolean {
  return (error as { code?: unknown }).code === STORE_UNAVAILABLE;
}

/** Failures that may pass: an unreachable store, a lock held too long, a refresh worth retrying. */
function isTransient(error: Error): boolean {
  if (error instanceof RefreshFailedError) return error.retryable;
  const code = (error as { code?: unknown }).code;
  return code === STORE_UNAVAILABLE || code === LOCK_TIMEOUT;
}

function credentialOf(record: TokenRecord): string {
  return typeof record.refresh_token === "string" && record.refresh_token
    ? record.refresh_token
    : record.access_token;
}

function nonNegative(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative number, received ${String(value)}`);
  }
  return value;
}

/** Milliseconds since `started` (a `performance.now()` reading), rounded. */
export function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}
