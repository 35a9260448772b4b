import type { TokenRecord, TokenStore } from "@easel/token-store";
import { type Clock, systemClock } from "./clock.js";
import type { AccessTokenInfo, DeveloperTokenStrategy, RotateOptions } from "./developer-token.js";
import {
  AuthError,
  invalidArgument,
  ReauthorizationRequiredError,
  RefreshFailedError,
  TokenApiError,
} from "./errors.js";
import { type AuthLogger, silentLogger } from "./logger.js";
import type { TokenProvider } from "./provider.js";
import { isoFromEpochSeconds, secondsLeft } from "./record.js";
import type { AuthStrategy, CallOptions, RevokeOutcome } from "./strategy.js";
import { asError, nonNegativeInteger, positiveNumber, sleep } from "./util.js";

/** Options of {@link TokenManager}. Validated once, in the constructor. */
export interface TokenManagerOptions {
  /**
   * The record's key in the store (`EASEL_TOKEN_KEY`, `--key`).
   * @default "default"
   */
  key?: string | undefined;
  /**
   * A token with less than this many seconds left is refreshed before it is handed out.
   * @default 300
   */
  bufferSeconds?: number | undefined;
  /** Where "now" comes from when judging expiry. @default the system clock */
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
   * Retries of a refresh that failed transiently (network, timeout, 5xx, 429).
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

/** What `easel token show` prints: no token, refresh token or secret. */
export interface TokenStatus {
  key: string;
  kind: AuthStrategy["kind"];
  present: boolean;
  /**
   * `valid`: usable for longer than the buffer. `refresh-due`: within the buffer (refreshed on
   * next use). `expired`: past its expiry. `no-expiry`: no timer (developer tokens, keys that do
   * not auto-expire). `missing`: nothing stored.
   */
  state: "missing" | "valid" | "refresh-due" | "expired" | "no-expiry";
  hasRefreshToken: boolean;
  expiresAt: string | undefined;
  expiresInSeconds: number | undefined;
  user: { id: number; name?: string | undefined } | undefined;
  scope: string | undefined;
  canvasRegion: string | undefined;
  /** Access Tokens API details (developer tokens, `inspect()` only). */
  accessToken?: AccessTokenInfo | undefined;
}

export interface RevokeResult extends RevokeOutcome {
  /** A record was stored under the key. */
  present: boolean;
  /** The record was deleted from the store. */
  deleted: boolean;
}

interface Refusal {
  /** The credential Canvas refused: the refresh token, or the access token when there is none. */
  credential: string;
  error: ReauthorizationRequiredError;
}

const WARNING_INTERVAL_MS = 6 * 3600 * 1000;

/**
 * Hands out Canvas access tokens and keeps them alive: refreshes a token before it has less
 * than `bufferSeconds` left, and after Canvas rejects it. One refresh in flight per key per
 * process (a shared promise) and per fleet (`store.withLock(key)`, then a re-read: a process
 * that finds the record already refreshed uses it). The new record is stored before the lock
 * is released. A refusal for good leaves the stored record exactly as it was.
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
  }

  /** The command that re-authorizes this key, e.g. `easel login --key ci`. */
  get remedy(): string {
    return this.key === "default" ? this.strategy.remedy : `${this.strategy.remedy} --key ${this.key}`;
  }

  stats(): Readonly<TokenManagerStats> {
    return { ...this.#stats };
  }

  /** A token valid for at least `bufferSeconds`, refreshing it first when it is not. */
  async getAccessToken(options: CallOptions = {}): Promise<string> {
    const cached = this.#cached;
    if (cached && this.#usable(cached)) return this.#handOut(cached);
    if (this.#flight) return (await this.#join(options.signal)).access_token;
    const stored = await this.#read();
    if (this.#usable(stored)) return this.#handOut(stored);
    return (await this.#refreshOnce({ reason: "expiry" }, options.signal)).access_token;
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

  /** Refreshes now, whatever the expiry (`easel token refresh`). Returns the new status. */
  async refresh(options: CallOptions = {}): Promise<TokenStatus> {
    if (!this.strategy.refreshable) {
      throw invalidArgument("a developer token cannot be refreshed; regenerate it with rotate()");
    }
    const record = await this.#refreshOnce({ reason: "forced" }, options.signal);
    return this.#statusOf(record);
  }

  /** The stored record's status, from the store alone (no request to Canvas). */
  async status(): Promise<TokenStatus> {
    const record = await this.#store.get(this.key);
    return this.#statusOf(record);
  }

  /**
   * `status()` plus what Canvas says about a developer token (its permanent expiry, which is
   * then recorded as `expires_at` so later runs warn without asking Canvas). Warns through the
   * logger when the token expires within the strategy's window.
   */
  async inspect(options: CallOptions = {}): Promise<TokenStatus> {
    const record = await this.#store.get(this.key);
    if (!record || !isDeveloperToken(this.strategy)) return this.#statusOf(record);
    const info = await this.strategy.inspect(record, options);
    const expiresAt = info.expiresAt ? Date.parse(info.expiresAt) / 1000 : undefined;
    let current = record;
    if (expiresAt !== record.expires_at) {
      current = await this.#store.withLock(
        this.key,
        async () => {
          const latest = await this.#store.get(this.key);
          if (!latest || latest.access_token !== record.access_token) return latest ?? record;
          const updated: TokenRecord = { ...latest };
          if (expiresAt === undefined) delete updated.expires_at;
          else updated.expires_at = expiresAt;
          if (info.id !== undefined) updated.token_id = info.id;
          await this.#store.set(this.key, updated);
          return updated;
        },
        this.#lockOptions(),
      );
      this.#cached = current;
    }
    return { ...this.#statusOf(current), accessToken: info };
  }

  /**
   * Regenerates a developer token through the Access Tokens API and stores the new one under the
   * lock. **The old token stops working as soon as Canvas answers**: if the store write fails the
   * error says so, and the only fix is a new token from Canvas (`easel token import`).
   */
  async rotate(options: RotateOptions = {}): Promise<TokenStatus> {
    const strategy = this.strategy;
    if (!isDeveloperToken(strategy)) {
      throw invalidArgument("rotate() regenerates developer tokens; OAuth tokens are renewed with refresh()");
    }
    const started = performance.now();
    return this.#store.withLock(
      this.key,
      async () => {
        const current = await this.#read();
        const next = await strategy.rotate(current, options);
        try {
          await this.#store.set(this.key, next);
        } catch (error) {
          this.#logger.error(
            { op: "rotate", key: this.key, outcome: "store-failed", ms: elapsed(started) },
            "Canvas regenerated the developer token but the store write failed",
          );
          throw new TokenApiError(
            "Canvas regenerated the developer token but it could not be stored, and the old token no " +
              "longer works: create a new token in Canvas (Account > Settings > New access token) and " +
              "run `easel token import`.",
            { cause: error },
          );
        }
        this.#cached = next;
        this.#refusal = undefined;
        this.#logger.info(
          { op: "rotate", key: this.key, outcome: "rotated", ms: elapsed(started) },
          "token rotated",
        );
        return this.#statusOf(next);
      },
      this.#lockOptions(),
    );
  }

  /**
   * Revokes the credential at Canvas and deletes the record (`easel logout`). An OAuth token
   * past its expiry is refreshed first, since Canvas revokes with the access token itself. A
   * credential Canvas no longer accepts counts as revoked (`alreadyInvalid`).
   */
  async revoke(options: CallOptions & { deleteRecord?: boolean } = {}): Promise<RevokeResult> {
    const started = performance.now();
    return this.#store.withLock(
      this.key,
      async () => {
        let current = await this.#store.get(this.key);
        if (!current) return { present: false, revoked: false, alreadyInvalid: false, deleted: false };
        let outcome: RevokeOutcome | undefined;
        if (this.strategy.refreshable && this.#expired(current)) {
          try {
            current = await this.strategy.refresh(current, options);
            // Stored first: a rotating refresh token must not be lost if the revocation fails.
            await this.#store.set(this.key, current);
          } catch (error) {
            if (!(error instanceof ReauthorizationRequiredError)) throw error;
            outcome = { revoked: false, alreadyInvalid: true };
          }
        }
        outcome ??= await this.strategy.revoke(current, options);
        const deleted = options.deleteRecord === false ? false : await this.#store.delete(this.key);
        this.#cached = undefined;
        this.#logger.info(
          {
            op: "revoke",
            key: this.key,
            outcome: outcome.revoked ? "revoked" : "already-invalid",
            deleted,
            ms: elapsed(started),
          },
          "credential revoked",
        );
        return { present: true, ...outcome, deleted };
      },
      this.#lockOptions(),
    );
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
    return this.strategy.refreshable ? left > this.#bufferSeconds : left > 0;
  }

  #expired(record: TokenRecord): boolean {
    const left = secondsLeft(record, this.#clock);
    return left !== undefined && left <= 0;
  }

  async #join(signal: AbortSignal | undefined): Promise<TokenRecord> {
    this.#stats.joined++;
    this.#emit({ type: "joined", key: this.key });
    return abortable(this.#flight!, signal);
  }

  /** One refresh per key per process: callers arriving meanwhile share its promise. */
  #refreshOnce(
    request: { reason: RefreshReason; rejected?: string },
    signal: AbortSignal | undefined,
  ): Promise<TokenRecord> {
    if (this.#flight) return this.#join(signal);
    const flight = this.#refreshUnderLock(request).finally(() => {
      if (this.#flight === flight) this.#flight = undefined;
    });
    this.#flight = flight;
    return abortable(flight, signal);
  }

  async #refreshUnderLock(request: { reason: RefreshReason; rejected?: string }): Promise<TokenRecord> {
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
        const { record, attempts } = await this.#refreshWithRetries(current, request.reason, started);
        // Written before the lock is released, so no process can use the old refresh token after
        // Canvas rotated it, and no process refreshes again what we just refreshed.
        await this.#store.set(this.key, record);
        this.#cached = record;
        this.#stats.refreshes++;
        this.#report(request.reason, "refreshed", started, attempts);
        return record;
      },
      this.#lockOptions(),
    );
  }

  #alreadyRefreshed(current: TokenRecord, request: { reason: RefreshReason; rejected?: string }): boolean {
    if (request.reason === "forced") return false;
    if (request.rejected !== undefined) {
      return current.access_token !== request.rejected && this.#usable(current);
    }
    return this.#usable(current);
  }

  async #refreshWithRetries(
    current: TokenRecord,
    reason: RefreshReason,
    started: number,
  ): Promise<{ record: TokenRecord; attempts: number }> {
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
        const delay = this.#backoff(attempt);
        if (retryable && attempt <= this.#retries && elapsed(started) + delay < budgetMs) {
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
          await sleep(delay);
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

  #backoff(attempt: number): number {
    const base = this.#retryDelayMs * 2 ** (attempt - 1);
    return Math.round(base / 2 + Math.random() * (base / 2));
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

  #statusOf(record: TokenRecord | undefined): TokenStatus {
    if (!record) {
      return {
        key: this.key,
        kind: this.strategy.kind,
        present: false,
        state: "missing",
        hasRefreshToken: false,
        expiresAt: undefined,
        expiresInSeconds: undefined,
        user: undefined,
        scope: undefined,
        canvasRegion: undefined,
      };
    }
    const left = secondsLeft(record, this.#clock);
    const state: TokenStatus["state"] =
      left === undefined
        ? "no-expiry"
        : left <= 0
          ? "expired"
          : this.strategy.refreshable && left <= this.#bufferSeconds
            ? "refresh-due"
            : "valid";
    const user = record.user;
    return {
      key: this.key,
      kind: this.strategy.kind,
      present: true,
      state,
      hasRefreshToken: typeof record.refresh_token === "string" && record.refresh_token !== "",
      expiresAt: isoFromEpochSeconds(record.expires_at),
      expiresInSeconds: left === undefined ? undefined : Math.round(left),
      user: user ? { id: user.id, name: user.name } : undefined,
      scope: typeof record.scope === "string" ? record.scope : undefined,
      canvasRegion: typeof record.canvas_region === "string" ? record.canvas_region : undefined,
    };
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

function isDeveloperToken(strategy: AuthStrategy): strategy is DeveloperTokenStrategy {
  return (
    strategy.kind === "developer-token" && typeof (strategy as DeveloperTokenStrategy).rotate === "function"
  );
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

function elapsed(started: number): number {
  return Math.round(performance.now() - started);
}

/** Stops waiting when the caller's signal aborts; the shared refresh itself goes on. */
function abortable<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  if (signal.aborted) return Promise.reject(asError(signal.reason));
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(asError(signal.reason));
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener("abort", onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(error);
      },
    );
  });
}
