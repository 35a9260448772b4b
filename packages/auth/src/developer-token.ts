import { type Clock, nowSeconds, systemClock } from "@easel/clock";
import type { TokenRecord } from "@easel/token-store";
import {
  invalidArgument,
  ReauthorizationRequiredError,
  type RemoteFailure,
  TokenApiError,
} from "./errors.js";
import {
  type FetchLike,
  isTransientStatus,
  normalizeBaseUrl,
  readJsonBody,
  requestIdOf,
  sanitizedCause,
} from "./http.js";
import { type AuthLogger, silentLogger } from "./logger.js";
import { isoFromEpochSeconds } from "./record.js";
import type { AuthStrategy, CallOptions, RevokeOutcome } from "./strategy.js";
import { asError, messageSuffix, positiveNumber, withTimeout } from "./util.js";

const DAY_SECONDS = 86_400;
const TOKENS_PATH = "/api/v1/users/self/tokens";

/** Options of {@link developerToken}. Validated once, when the strategy is built. */
export interface DeveloperTokenOptions {
  /** Canvas root URL, e.g. `https://school.instructure.com`. */
  baseUrl: string;
  /**
   * How long before the token's expiry (Access Tokens API `expires_at`) to start warning.
   * @default 14
   */
  expiryWarningDays?: number | undefined;
  /**
   * Timeout of each request to the Access Tokens API.
   * @default 10_000
   */
  timeoutMs?: number | undefined;
  /** @default the system clock */
  clock?: Clock | undefined;
  /** Receives the expiry warning. @default silent */
  logger?: AuthLogger | undefined;
  /** For proxies or instrumentation. @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /**
   * Allows plain `http://` to a loopback host: for the local simulator only.
   * @deprecated Not deprecated: named and tagged so that every use stands out in review.
   * @default false
   */
  dangerouslyAllowInsecureHttp?: boolean | undefined;
}

/** What Canvas's Access Tokens API says about a token: never the token itself. */
export interface AccessTokenInfo {
  id: number | undefined;
  purpose: string | undefined;
  /** ISO 8601, or `null` when the token never expires. */
  expiresAt: string | null;
  /** Seconds until `expiresAt` by the strategy's clock. */
  expiresInSeconds: number | undefined;
  /** Within the warning window (or already past). */
  expiringSoon: boolean;
  lastUsedAt: string | null;
  workflowState: string | undefined;
  scopes: readonly string[];
  canManuallyRegenerate: boolean | undefined;
}

export interface RotateOptions extends CallOptions {
  /** A new expiry for the regenerated token; required by Canvas when the old one expired. */
  expiresAt?: Date | string | undefined;
}

/**
 * A Canvas personal access token ("functional user + personal token"). It cannot be
 * refreshed: a rejected or expired token needs a person. It can be regenerated (`rotate`) and
 * inspected for its expiry through the Access Tokens API.
 */
export interface DeveloperTokenStrategy extends AuthStrategy {
  readonly kind: "developer-token";
  readonly refreshable: false;
  /** The warning window, in seconds. */
  readonly expiryWarningSeconds: number;
  /** A record for a bare token string (what `easel token import` stores). */
  recordFor(accessToken: string, extra?: Readonly<Record<string, unknown>>): TokenRecord;
  /**
   * Regenerates the token (`PUT /api/v1/users/self/tokens/:id`, `token[regenerate]=1`): the old
   * token stops working at once and the new one exists only in the returned record, so store it
   * immediately (`TokenManager.rotate()` does, under the lock). Never retried.
   */
  rotate(record: TokenRecord, options?: RotateOptions): Promise<TokenRecord>;
  /** Reads the token's expiry and state; warns through the logger when it expires soon. */
  inspect(record: TokenRecord, options?: CallOptions): Promise<AccessTokenInfo>;
}

/**
 * Builds the developer-token strategy.
 *
 * @example
 * ```ts
 * const strategy = developerToken({ baseUrl: "https://school.instructure.com" });
 * await store.set("default", strategy.recordFor(process.env.CANVAS_ACCESS_TOKEN!));
 * const manager = new TokenManager(strategy, store);
 * ```
 * @see https://canvas.instructure.com/doc/api/access_tokens.html
 */
export function developerToken(options: DeveloperTokenOptions): DeveloperTokenStrategy {
  return Object.freeze(new CanvasDeveloperToken(options));
}

class CanvasDeveloperToken implements DeveloperTokenStrategy {
  readonly kind = "developer-token" as const;
  readonly refreshable = false as const;
  readonly rotatesRefreshToken = false;
  readonly remedy = "easel token import";
  readonly baseUrl: string;
  readonly expiryWarningSeconds: number;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #logger: AuthLogger;
  readonly #fetch: FetchLike;

  constructor(options: DeveloperTokenOptions) {
    if (typeof options !== "object" || options === null) {
      throw invalidArgument("developerToken() needs an options object");
    }
    this.baseUrl = normalizeBaseUrl(options.baseUrl, options.dangerouslyAllowInsecureHttp === true);
    this.expiryWarningSeconds =
      positiveNumber(options.expiryWarningDays, 14, "expiryWarningDays") * DAY_SECONDS;
    this.#timeoutMs = positiveNumber(options.timeoutMs, 10_000, "timeoutMs");
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger ?? silentLogger;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  recordFor(accessToken: string, extra: Readonly<Record<string, unknown>> = {}): TokenRecord {
    if (typeof accessToken !== "string" || accessToken.trim() === "") {
      throw invalidArgument("a developer token must be a non-empty string");
    }
    return { ...extra, access_token: accessToken.trim(), token_type: "Bearer" };
  }

  async refresh(record: TokenRecord): Promise<TokenRecord> {
    throw this.#invalid(record);
  }

  #invalid(record: TokenRecord, remote: RemoteFailure = {}): ReauthorizationRequiredError {
    const expired = typeof record.expires_at === "number" && record.expires_at <= nowSeconds(this.#clock);
    return new ReauthorizationRequiredError(
      `developer token is ${expired ? `expired (since ${isoFromEpochSeconds(record.expires_at)})` : "invalid"}; ` +
        "create a new one in Canvas (Account > Settings > New access token) and run `easel token import`",
      { ...remote, remedy: this.remedy },
    );
  }

  async rotate(record: TokenRecord, options: RotateOptions = {}): Promise<TokenRecord> {
    const body = new URLSearchParams({ "token[regenerate]": "1" });
    if (options.expiresAt !== undefined) {
      const when = new Date(options.expiresAt);
      if (Number.isNaN(when.getTime())) throw invalidArgument("expiresAt must be a date");
      body.set("token[expires_at]", when.toISOString());
    }
    const { response, json } = await this.#call("PUT", record, options.signal, body, false);
    const visible = (json as { visible_token?: unknown } | undefined)?.visible_token;
    if (typeof visible !== "string" || visible.length < 16 || visible.endsWith("...")) {
      throw new TokenApiError(
        "Canvas answered the regeneration without a full token; the stored token may no longer work. " +
          "Create a new token in Canvas and run `easel token import`.",
        { status: response.status, endpoint: `PUT ${TOKENS_PATH}/:id`, requestId: requestIdOf(response) },
      );
    }
    const info = tokenInfo(json, this.#clock, this.expiryWarningSeconds);
    const next: Record<string, unknown> = { ...record, access_token: visible, token_type: "Bearer" };
    if (info.id !== undefined) next.token_id = info.id;
    delete next.expires_in;
    delete next.refresh_token;
    if (info.expiresAt) next.expires_at = Date.parse(info.expiresAt) / 1000;
    else delete next.expires_at;
    return next as TokenRecord;
  }

  async inspect(record: TokenRecord, options: CallOptions = {}): Promise<AccessTokenInfo> {
    const { json } = await this.#call("GET", record, options.signal, undefined, true);
    const info = tokenInfo(json, this.#clock, this.expiryWarningSeconds);
    if (info.expiringSoon) {
      this.#logger.warn(
        {
          op: "token-expiry",
          expiresAt: info.expiresAt,
          daysLeft: Math.max(0, Math.floor((info.expiresInSeconds ?? 0) / DAY_SECONDS)),
        },
        "developer token expires soon: run `easel token rotate` (or create a new token and `easel token import`)",
      );
    }
    return info;
  }

  async revoke(record: TokenRecord, options: CallOptions = {}): Promise<RevokeOutcome> {
    try {
      await this.#call("DELETE", record, options.signal, undefined, true);
      return { revoked: true, alreadyInvalid: false };
    } catch (error) {
      if (error instanceof ReauthorizationRequiredError) return { revoked: false, alreadyInvalid: true };
      throw error;
    }
  }

  /**
   * One Access Tokens API call, authenticated by the token itself. `:id` is the stored token id,
   * or the 5-character hint Canvas also accepts.
   */
  async #call(
    method: "GET" | "PUT" | "DELETE",
    record: TokenRecord,
    signal: AbortSignal | undefined,
    body: URLSearchParams | undefined,
    idempotent: boolean,
  ): Promise<{ response: Response; json: unknown }> {
    const id =
      typeof record.token_id === "number" ? String(record.token_id) : record.access_token.slice(0, 5);
    const endpoint = `${method} ${TOKENS_PATH}/:id`;
    let response: Response;
    try {
      response = await this.#fetch(`${this.baseUrl}${TOKENS_PATH}/${encodeURIComponent(id)}`, {
        method,
        headers: {
          authorization: `Bearer ${record.access_token}`,
          accept: "application/json",
          ...(body ? { "content-type": "application/x-www-form-urlencoded" } : {}),
        },
        body: body?.toString(),
        signal: withTimeout(signal, this.#timeoutMs),
      });
    } catch (error) {
      if (signal?.aborted) throw asError(signal.reason);
      throw new TokenApiError(
        idempotent
          ? "Could not reach Canvas's Access Tokens API (network error or timeout)."
          : "No answer from Canvas to the regeneration request: the token may or may not have been " +
              "regenerated. Check it with `easel token show --check`; if it no longer works, create a new " +
              "token in Canvas and run `easel token import`.",
        { endpoint, retryable: idempotent, cause: sanitizedCause(error) },
      );
    }
    const json = await readJsonBody(response);
    const remote = { status: response.status, endpoint, requestId: requestIdOf(response) };
    if (response.ok) return { response, json };
    if (response.status === 401 && response.headers.has("www-authenticate"))
      throw this.#invalid(record, remote);
    const hint =
      response.status === 404 || response.status === 403 || response.status === 401
        ? " (only manually generated tokens can be regenerated, and only by their owner or an admin " +
          "with the Manage Access Tokens permission)"
        : "";
    throw new TokenApiError(
      `Canvas's Access Tokens API refused ${method} (HTTP ${response.status}${messageSuffix(json)})${hint}.`,
      { ...remote, retryable: idempotent && isTransientStatus(response.status) },
    );
  }
}

function tokenInfo(json: unknown, clock: Clock, warningSeconds: number): AccessTokenInfo {
  const body = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  const expiresAt = typeof body.expires_at === "string" && body.expires_at ? body.expires_at : null;
  const expiresMs = expiresAt ? Date.parse(expiresAt) : Number.NaN;
  const expiresInSeconds = Number.isFinite(expiresMs) ? (expiresMs - clock.now()) / 1000 : undefined;
  return {
    id: typeof body.id === "number" ? body.id : undefined,
    purpose: typeof body.purpose === "string" ? body.purpose : undefined,
    expiresAt: Number.isFinite(expiresMs) ? new Date(expiresMs).toISOString() : null,
    expiresInSeconds,
    expiringSoon: expiresInSeconds !== undefined && expiresInSeconds <= warningSeconds,
    lastUsedAt: typeof body.last_used_at === "string" ? body.last_used_at : null,
    workflowState: typeof body.workflow_state === "string" ? body.workflow_state : undefined,
    scopes: Array.isArray(body.scopes) ? body.scopes.filter((s): s is string => typeof s === "string") : [],
    canManuallyRegenerate:
      typeof body.can_manually_regenerate === "boolean" ? body.can_manually_regenerate : undefined,
  };
}
