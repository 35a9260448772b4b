import type { TokenRecord } from "@easel/token-store";
import type { AccessTokenInfo, DeveloperTokenStrategy, RotateOptions } from "./developer-token.js";
import { invalidArgument, ReauthorizationRequiredError, TokenApiError } from "./errors.js";
import { isoFromEpochSeconds, secondsLeft } from "./record.js";
import type { AuthStrategy, CallOptions, RevokeOutcome } from "./strategy.js";
import { elapsed, type ManagerInternals, managerInternals, type TokenManager } from "./token-manager.js";

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

/**
 * What a person does to a stored credential (`easel token refresh|rotate|revoke|show`,
 * `easel logout`), as opposed to what a running job needs (`TokenManager`: a valid token, now).
 * Built over the manager that hands the credential out, so a forced refresh joins the manager's
 * single flight and fleet lock, and a rotation or revocation is what the manager hands out next.
 *
 * @example
 * ```ts
 * const manager = new TokenManager(strategy, store, { key: "default" });
 * const admin = new TokenAdmin(manager);
 * console.log((await admin.status()).state);
 * await admin.rotate(); // developer tokens
 * ```
 */
export class TokenAdmin {
  readonly manager: TokenManager;
  readonly #internals: ManagerInternals;

  constructor(manager: TokenManager) {
    this.#internals = managerInternals(manager);
    this.manager = manager;
  }

  get key(): string {
    return this.manager.key;
  }

  get strategy(): AuthStrategy {
    return this.manager.strategy;
  }

  /** Refreshes now, whatever the expiry (`easel token refresh`). Returns the new status. */
  async refresh(options: CallOptions = {}): Promise<TokenStatus> {
    if (!this.strategy.refreshable) {
      throw invalidArgument("a developer token cannot be refreshed; regenerate it with rotate()");
    }
    const record = await this.#internals.forceRefresh(options.signal);
    return this.#statusOf(record);
  }

  /** The stored record's status, from the store alone (no request to Canvas). */
  async status(): Promise<TokenStatus> {
    const record = await this.#internals.store.get(this.key);
    return this.#statusOf(record);
  }

  /**
   * `status()` plus what Canvas says about a developer token (its permanent expiry, which is
   * then recorded as `expires_at` so later runs warn without asking Canvas). Warns through the
   * logger when the token expires within the strategy's window.
   */
  async inspect(options: CallOptions = {}): Promise<TokenStatus> {
    const { store, lockOptions } = this.#internals;
    const strategy = this.strategy;
    const record = await store.get(this.key);
    if (!record || !isDeveloperToken(strategy)) return this.#statusOf(record);
    const info = await strategy.inspect(record, options);
    const expiresAt = info.expiresAt ? Date.parse(info.expiresAt) / 1000 : undefined;
    let current = record;
    if (expiresAt !== record.expires_at) {
      current = await store.withLock(
        this.key,
        async () => {
          const latest = await store.get(this.key);
          if (!latest || latest.access_token !== record.access_token) return latest ?? record;
          const updated: TokenRecord = { ...latest };
          if (expiresAt === undefined) delete updated.expires_at;
          else updated.expires_at = expiresAt;
          if (info.id !== undefined) updated.token_id = info.id;
          await store.set(this.key, updated);
          return updated;
        },
        lockOptions,
      );
      this.#internals.replaced(current);
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
    const { store, logger, lockOptions } = this.#internals;
    const started = performance.now();
    return store.withLock(
      this.key,
      async () => {
        const current = await store.get(this.key);
        if (!current) {
          throw new ReauthorizationRequiredError(`No Canvas credential is stored under key "${this.key}".`, {
            remedy: this.manager.remedy,
          });
        }
        this.#internals.replaced(current);
        const next = await strategy.rotate(current, options);
        try {
          await store.set(this.key, next);
        } catch (error) {
          logger.error(
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
        this.#internals.replaced(next, true);
        logger.info(
          { op: "rotate", key: this.key, outcome: "rotated", ms: elapsed(started) },
          "token rotated",
        );
        return this.#statusOf(next);
      },
      lockOptions,
    );
  }

  /**
   * Revokes the credential at Canvas and deletes the record (`easel logout`). An OAuth token
   * past its expiry is refreshed first, since Canvas revokes with the access token itself. A
   * credential Canvas no longer accepts counts as revoked (`alreadyInvalid`).
   */
  async revoke(options: CallOptions & { deleteRecord?: boolean } = {}): Promise<RevokeResult> {
    const { store, logger, lockOptions } = this.#internals;
    const strategy = this.strategy;
    const started = performance.now();
    return store.withLock(
      this.key,
      async () => {
        let current = await store.get(this.key);
        if (!current) return { present: false, revoked: false, alreadyInvalid: false, deleted: false };
        let outcome: RevokeOutcome | undefined;
        if (strategy.refreshable && this.#expired(current)) {
          try {
            current = await strategy.refresh(current, options);
            // Stored first: a rotating refresh token must not be lost if the revocation fails.
            await store.set(this.key, current);
          } catch (error) {
            if (!(error instanceof ReauthorizationRequiredError)) throw error;
            outcome = { revoked: false, alreadyInvalid: true };
          }
        }
        outcome ??= await strategy.revoke(current, options);
        const deleted = options.deleteRecord === false ? false : await store.delete(this.key);
        this.#internals.replaced(undefined);
        logger.info(
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
      lockOptions,
    );
  }

  #expired(record: TokenRecord): boolean {
    const left = secondsLeft(record, this.#internals.clock);
    return left !== undefined && left <= 0;
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
    const left = secondsLeft(record, this.#internals.clock);
    const state: TokenStatus["state"] =
      left === undefined
        ? "no-expiry"
        : left <= 0
          ? "expired"
          : this.strategy.refreshable && left <= this.#internals.bufferFor(record)
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
}

function isDeveloperToken(strategy: AuthStrategy): strategy is DeveloperTokenStrategy {
  return (
    strategy.kind === "developer-token" && typeof (strategy as DeveloperTokenStrategy).rotate === "function"
  );
}
