/**
 * The OAuth2 strategy on openid-client: authorization code + PKCE (S256) + state, loopback and web
 * redirects, the refresh_token grant and Canvas's deviations from the RFCs (no new refresh token on
 * refresh, `invalid_request` for a revoked one, logout via DELETE /login/oauth2/token). Longer than 500
 * lines because each deviation needs its handling and its explanation next to the grant it affects.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { type Clock, systemClock } from "@easel/clock";
import type { TokenRecord } from "@easel/token-store";
import * as client from "openid-client";
import {
  invalidArgument,
  OAuthError,
  ReauthorizationRequiredError,
  RefreshFailedError,
  TokenApiError,
} from "./errors.js";
import {
  type FetchLike,
  isNetworkError,
  isTransientStatus,
  normalizeBaseUrl,
  readJsonBody,
  requestIdOf,
  sanitizedCause,
} from "./http.js";
import { recordFromTokenResponse } from "./record.js";
import type { AuthStrategy, CallOptions, RevokeOutcome } from "./strategy.js";
import { asError, messageSuffix, positiveNumber, withTimeout } from "./util.js";

const TOKEN_PATH = "/login/oauth2/token";
const AUTH_PATH = "/login/oauth2/auth";
const TOKEN_ENDPOINT = `POST ${TOKEN_PATH}`;

/** Options of {@link oauth}. Validated once, when the strategy is built. */
export interface OAuthOptions {
  /** Canvas root URL, e.g. `https://school.instructure.com`. */
  baseUrl: string;
  /** The developer key's client id. */
  clientId: string;
  /**
   * The developer key's client secret. Omit it for a public client (Canvas developer key marked
   * public): PKCE then stands in for the secret and Canvas rotates the refresh token on refresh.
   */
  clientSecret?: string | undefined;
  /**
   * Where Canvas sends the browser back with `?code=&state=`. May instead be given per login
   * (the CLI learns its loopback port only when it listens).
   */
  redirectUri?: string | undefined;
  /**
   * Canvas API scopes for a scoped developer key, e.g. `url:GET|/api/v1/courses`. Omitted for
   * an unscoped key.
   * @default []
   */
  scopes?: readonly string[] | string | undefined;
  /** A label Canvas shows on the token in the user's Approved Integrations (`purpose`). */
  purpose?: string | undefined;
  /**
   * How the client secret travels: in the form body (`client_secret_post`) or as HTTP Basic.
   * Canvas accepts both.
   * @default "client_secret_post"
   */
  clientAuthentication?: "client_secret_post" | "client_secret_basic" | undefined;
  /**
   * Timeout of each request to Canvas's token endpoints.
   * @default 10_000
   */
  timeoutMs?: number | undefined;
  /** Where `expires_at` is computed from. @default the system clock */
  clock?: Clock | undefined;
  /** For proxies or instrumentation. @default globalThis.fetch */
  fetch?: FetchLike | undefined;
  /**
   * Allows plain `http://` to a loopback host: for the local simulator only. Refused for any
   * other host, so it cannot downgrade a real Canvas URL.
   * @deprecated Not deprecated: named and tagged so that every use stands out in review.
   * @default false
   */
  dangerouslyAllowInsecureHttp?: boolean | undefined;
}

/** What `startLogin()` returns: send the user to `url`, keep `state` and `codeVerifier` for the callback. */
export interface LoginStart {
  url: string;
  state: string;
  codeVerifier: string;
  redirectUri: string;
}

export interface AuthorizationUrlParams {
  /** Random, single-use, kept by the caller to compare with the callback's `state`. */
  state: string;
  /** PKCE verifier kept by the caller; its S256 challenge goes in the URL. */
  codeVerifier: string;
  /** @default the strategy's redirectUri */
  redirectUri?: string | undefined;
  /** Ask Canvas to show the login form even when a session exists (`force_login=1`). */
  forceLogin?: boolean | undefined;
  /** Prefill the login form's username (`unique_id`). */
  uniqueId?: string | undefined;
}

export interface ExchangeCodeParams extends CallOptions {
  /** The `code` query parameter of the callback. */
  code: string;
  /** The `state` query parameter of the callback. */
  state: string | null | undefined;
  /** The state generated when the login started. */
  expectedState: string;
  /** The PKCE verifier generated when the login started. */
  codeVerifier: string;
  /** Must be the redirect URI used in the authorization URL. @default the strategy's */
  redirectUri?: string | undefined;
  /** Ask Canvas to delete this user's other tokens for the developer key (`replace_tokens=1`). */
  replaceTokens?: boolean | undefined;
}

/** The OAuth2 strategy: authorization code + PKCE (S256) + state, and the refresh_token grant. */
export interface OAuthStrategy extends AuthStrategy {
  readonly kind: "oauth";
  readonly clientId: string;
  /** No client secret: PKCE is mandatory and refresh tokens rotate. */
  readonly publicClient: boolean;
  readonly redirectUri: string | undefined;
  readonly scopes: readonly string[];
  readonly purpose: string | undefined;
  /** The URL of Canvas's consent page for one login attempt. */
  authorizationUrl(params: AuthorizationUrlParams): string;
  /** Fresh state and PKCE verifier, and the authorization URL built from them. */
  startLogin(params?: Omit<AuthorizationUrlParams, "state" | "codeVerifier">): LoginStart;
  /**
   * Exchanges the callback's code for a record. Rejects a state mismatch before any request;
   * Canvas checks the PKCE verifier.
   */
  exchangeCode(params: ExchangeCodeParams): Promise<TokenRecord>;
  /**
   * `exchangeCode` from the callback URL itself; turns `?error=access_denied` into an
   * `OAuthError`.
   */
  handleCallback(
    callbackUrl: string | URL,
    checks: Omit<ExchangeCodeParams, "code" | "state"> & CallOptions,
  ): Promise<TokenRecord>;
}

/**
 * Builds the OAuth2 strategy for a Canvas developer key. Canvas has no discovery document, so
 * the endpoints are configured from `baseUrl`. `client_credentials` is never used: Canvas
 * refuses it for REST with a plain secret.
 *
 * @example
 * ```ts
 * const strategy = oauth({
 *   baseUrl: "https://school.instructure.com",
 *   clientId: process.env.CANVAS_CLIENT_ID!,
 *   clientSecret: process.env.CANVAS_CLIENT_SECRET,
 *   redirectUri: "http://127.0.0.1:8400/callback",
 * });
 * const { url, state, codeVerifier } = strategy.startLogin();
 * ```
 * @see https://canvas.instructure.com/doc/api/file.oauth_endpoints.html
 * @see https://www.rfc-editor.org/rfc/rfc7636 (PKCE)
 */
export function oauth(options: OAuthOptions): OAuthStrategy {
  return Object.freeze(new CanvasOAuth(options));
}

class CanvasOAuth implements OAuthStrategy {
  readonly kind = "oauth" as const;
  readonly refreshable = true;
  readonly remedy = "easel login";
  readonly baseUrl: string;
  readonly clientId: string;
  readonly publicClient: boolean;
  readonly rotatesRefreshToken: boolean;
  readonly redirectUri: string | undefined;
  readonly scopes: readonly string[];
  readonly purpose: string | undefined;
  readonly #clientSecret: string | undefined;
  readonly #basicAuth: boolean;
  readonly #timeoutMs: number;
  readonly #clock: Clock;
  readonly #fetch: FetchLike;
  readonly #insecure: boolean;

  constructor(options: OAuthOptions) {
    if (typeof options !== "object" || options === null)
      throw invalidArgument("oauth() needs an options object");
    this.#insecure = options.dangerouslyAllowInsecureHttp === true;
    this.baseUrl = normalizeBaseUrl(options.baseUrl, this.#insecure);
    if (typeof options.clientId !== "string" || options.clientId.trim() === "") {
      throw invalidArgument("clientId must be the developer key's client id (a non-empty string)");
    }
    this.clientId = options.clientId.trim();
    if (
      options.clientSecret !== undefined &&
      (typeof options.clientSecret !== "string" || !options.clientSecret)
    ) {
      throw invalidArgument("clientSecret must be a non-empty string, or omitted for a public client");
    }
    this.#clientSecret = options.clientSecret;
    this.publicClient = options.clientSecret === undefined;
    this.rotatesRefreshToken = this.publicClient;
    this.redirectUri = options.redirectUri === undefined ? undefined : validRedirectUri(options.redirectUri);
    this.scopes = normalizeScopes(options.scopes);
    if (options.purpose !== undefined && typeof options.purpose !== "string") {
      throw invalidArgument("purpose must be a string");
    }
    this.purpose = options.purpose || undefined;
    const method = options.clientAuthentication ?? "client_secret_post";
    if (method !== "client_secret_post" && method !== "client_secret_basic") {
      throw invalidArgument(
        `clientAuthentication must be "client_secret_post" or "client_secret_basic", received "${String(method)}"`,
      );
    }
    this.#basicAuth = method === "client_secret_basic";
    this.#timeoutMs = positiveNumber(options.timeoutMs, 10_000, "timeoutMs");
    this.#clock = options.clock ?? systemClock;
    this.#fetch = options.fetch ?? ((url, init) => fetch(url, init));
  }

  authorizationUrl(params: AuthorizationUrlParams): string {
    if (!params || typeof params.state !== "string" || params.state.length < 8) {
      throw invalidArgument("authorizationUrl() needs a random state of at least 8 characters");
    }
    if (typeof params.codeVerifier !== "string" || !/^[A-Za-z0-9._~-]{43,128}$/.test(params.codeVerifier)) {
      throw invalidArgument("codeVerifier must be 43-128 characters of [A-Za-z0-9._~-] (RFC 7636)");
    }
    const redirectUri = this.#redirectFor(params.redirectUri);
    const query: Record<string, string> = {
      response_type: "code",
      redirect_uri: redirectUri,
      state: params.state,
      code_challenge: pkceChallenge(params.codeVerifier),
      code_challenge_method: "S256",
    };
    if (this.scopes.length > 0) query.scope = this.scopes.join(" ");
    if (this.purpose) query.purpose = this.purpose;
    if (params.forceLogin) query.force_login = "1";
    if (params.uniqueId) query.unique_id = params.uniqueId;
    return client.buildAuthorizationUrl(this.#configuration().config, query).href;
  }

  startLogin(params: Omit<AuthorizationUrlParams, "state" | "codeVerifier"> = {}): LoginStart {
    const state = client.randomState();
    const codeVerifier = client.randomPKCECodeVerifier();
    const redirectUri = this.#redirectFor(params.redirectUri);
    const url = this.authorizationUrl({ ...params, state, codeVerifier, redirectUri });
    return { url, state, codeVerifier, redirectUri };
  }

  async handleCallback(
    callbackUrl: string | URL,
    checks: Omit<ExchangeCodeParams, "code" | "state">,
  ): Promise<TokenRecord> {
    const url = new URL(String(callbackUrl));
    const state = url.searchParams.get("state");
    const error = url.searchParams.get("error");
    if (error) {
      // Canvas echoes state on errors too; a mismatched one means the answer is not ours.
      if (!sameSecret(state, checks.expectedState)) throw stateMismatch();
      const description = url.searchParams.get("error_description") ?? undefined;
      throw new OAuthError(
        `Canvas did not authorize the login (${error}${description ? `: ${description}` : ""}).`,
        { error, errorDescription: description, endpoint: `GET ${AUTH_PATH}` },
      );
    }
    const code = url.searchParams.get("code");
    if (!code) {
      throw new OAuthError("The callback has neither a code nor an error parameter.", {
        error: "invalid_request",
        endpoint: `GET ${AUTH_PATH}`,
      });
    }
    return this.exchangeCode({ ...checks, code, state });
  }

  async exchangeCode(params: ExchangeCodeParams): Promise<TokenRecord> {
    if (!params || typeof params.code !== "string" || params.code === "") {
      throw invalidArgument("exchangeCode() needs the callback's code");
    }
    if (typeof params.expectedState !== "string" || params.expectedState === "") {
      throw invalidArgument("exchangeCode() needs expectedState, the state generated by startLogin()");
    }
    if (typeof params.codeVerifier !== "string" || params.codeVerifier === "") {
      throw invalidArgument("exchangeCode() needs codeVerifier, the PKCE verifier generated by startLogin()");
    }
    // Checked before any request, in constant time: a forged callback learns nothing.
    if (!sameSecret(params.state ?? null, params.expectedState)) throw stateMismatch();
    const callback = new URL(this.#redirectFor(params.redirectUri));
    callback.search = "";
    callback.searchParams.set("code", params.code);
    callback.searchParams.set("state", params.expectedState);
    const extra: Record<string, string> = {};
    if (params.replaceTokens) extra.replace_tokens = "1";
    const { config, lastResponse } = this.#configuration(params.signal);
    try {
      const tokens = await client.authorizationCodeGrant(
        config,
        callback,
        { pkceCodeVerifier: params.codeVerifier, expectedState: params.expectedState },
        extra,
      );
      return recordFromTokenResponse(tokens as unknown as Record<string, unknown>, this.#clock);
    } catch (error) {
      throw await this.#codeError(error, lastResponse(), params.signal);
    }
  }

  async refresh(record: TokenRecord, options: CallOptions = {}): Promise<TokenRecord> {
    if (typeof record.refresh_token !== "string" || record.refresh_token === "") {
      throw new ReauthorizationRequiredError(
        "The stored OAuth record has no refresh token, so it cannot be renewed; log in again.",
        { remedy: this.remedy },
      );
    }
    const { config, lastResponse } = this.#configuration(options.signal);
    try {
      const tokens = await client.refreshTokenGrant(config, record.refresh_token);
      return recordFromTokenResponse(tokens as unknown as Record<string, unknown>, this.#clock, record);
    } catch (error) {
      throw await this.#refreshError(error, lastResponse(), options.signal);
    }
  }

  async revoke(record: TokenRecord, options: CallOptions = {}): Promise<RevokeOutcome> {
    // DELETE /login/oauth2/token authenticates with the access token itself; the refresh token
    // dies with it (canvas-api.md §1d).
    let response: Response;
    try {
      response = await this.#fetch(`${this.baseUrl}${TOKEN_PATH}`, {
        method: "DELETE",
        headers: { authorization: `Bearer ${record.access_token}`, accept: "application/json" },
        signal: withTimeout(options.signal, this.#timeoutMs),
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new TokenApiError("Could not reach Canvas to revoke the token; nothing was revoked.", {
        endpoint: `DELETE ${TOKEN_PATH}`,
        retryable: true,
        cause: sanitizedCause(error),
      });
    }
    const body = await readJsonBody(response);
    if (response.ok) return { revoked: true, alreadyInvalid: false };
    // 401: the token is already invalid. 400 "can't delete OAuth access token when not using an
    // OAuth access token": Canvas did not recognise it as a live OAuth token either.
    if (response.status === 401 || response.status === 400) return { revoked: false, alreadyInvalid: true };
    throw new TokenApiError(
      `Canvas refused to revoke the token (HTTP ${response.status}${messageSuffix(body)}).`,
      {
        status: response.status,
        endpoint: `DELETE ${TOKEN_PATH}`,
        requestId: requestIdOf(response),
        retryable: isTransientStatus(response.status),
      },
    );
  }

  #redirectFor(override: string | undefined): string {
    const redirectUri = override === undefined ? this.redirectUri : validRedirectUri(override);
    if (!redirectUri) {
      throw invalidArgument("redirectUri is required to log in (give it to oauth() or to this call)");
    }
    return redirectUri;
  }

  /**
   * A Configuration per call: cheap, and it lets each call carry its own abort signal and
   * remember the token endpoint's last answer (status, request id) for error reports.
   */
  #configuration(signal?: AbortSignal): {
    config: client.Configuration;
    lastResponse: () => Response | undefined;
  } {
    const server: client.ServerMetadata = {
      issuer: this.baseUrl,
      authorization_endpoint: `${this.baseUrl}${AUTH_PATH}`,
      token_endpoint: `${this.baseUrl}${TOKEN_PATH}`,
    };
    const clientAuth = this.publicClient
      ? client.None()
      : this.#basicAuth
        ? client.ClientSecretBasic(this.#clientSecret)
        : client.ClientSecretPost(this.#clientSecret);
    const config = new client.Configuration(server, this.clientId, undefined, clientAuth);
    // Only reachable for a loopback simulator: normalizeBaseUrl refuses http:// anywhere else.
    if (this.#insecure) client.allowInsecureRequests(config);
    config.timeout = Math.ceil(this.#timeoutMs / 1000);
    let last: Response | undefined;
    const fetchImpl = this.#fetch;
    config[client.customFetch] = async (url, init) => {
      const merged = signal ? AbortSignal.any([signal, ...(init.signal ? [init.signal] : [])]) : init.signal;
      const response = await fetchImpl(url, { ...init, signal: merged } as RequestInit);
      last = response;
      return response;
    };
    return { config, lastResponse: () => last };
  }

  async #refreshError(error: unknown, response: Response | undefined, signal?: AbortSignal): Promise<Error> {
    if (signal?.aborted) return asError(signal.reason);
    const remote = { endpoint: TOKEN_ENDPOINT, status: response?.status, requestId: requestIdOf(response) };
    const oauthError = await oauthErrorBody(error);
    if (oauthError) {
      const { error: code, description } = oauthError;
      const detail = `${code}${description ? `: ${description}` : ""}`;
      if (code === "invalid_grant" || (code === "invalid_request" && /not found/i.test(description ?? ""))) {
        return new ReauthorizationRequiredError(
          `Canvas refused the refresh token (${detail}): it was revoked, expired, or the user removed ` +
            "the integration." +
            (this.rotatesRefreshToken
              ? " This public client rotates refresh tokens: if an earlier run died after Canvas " +
                "answered a refresh but before the new refresh token was stored, the stored one was " +
                "already used."
              : "") +
            " A person must log in again.",
          { ...remote, remedy: this.remedy, cause: sanitizedCause(error) },
        );
      }
      if (isTransientStatus(remote.status ?? 0)) {
        return new RefreshFailedError(`The token endpoint is unavailable (${detail}).`, {
          ...remote,
          cause: sanitizedCause(error),
        });
      }
      return new OAuthError(clientErrorMessage(code, detail), {
        ...remote,
        error: code,
        errorDescription: description,
        cause: sanitizedCause(error),
      });
    }
    if (isNetworkError(error)) {
      return new RefreshFailedError("Could not reach Canvas's token endpoint (network error or timeout).", {
        ...remote,
        status: undefined,
        cause: sanitizedCause(error),
      });
    }
    if (remote.status !== undefined && (isTransientStatus(remote.status) || remote.status < 300)) {
      // 5xx/429, or a 200 whose body was not a token answer (a proxy page, a truncated body).
      return new RefreshFailedError(
        `The token endpoint answered HTTP ${remote.status} without a usable token response.`,
        { ...remote, cause: sanitizedCause(error) },
      );
    }
    return new OAuthError(`Unexpected answer from the token endpoint (HTTP ${remote.status ?? "none"}).`, {
      ...remote,
      error: "unexpected_response",
      cause: sanitizedCause(error),
    });
  }

  async #codeError(error: unknown, response: Response | undefined, signal?: AbortSignal): Promise<Error> {
    if (signal?.aborted) return asError(signal.reason);
    if (error instanceof TypeError && (error as { code?: unknown }).code === "ERR_INVALID_ARG_VALUE")
      return error;
    const remote = { endpoint: TOKEN_ENDPOINT, status: response?.status, requestId: requestIdOf(response) };
    const oauthError = await oauthErrorBody(error);
    if (oauthError) {
      const { error: code, description } = oauthError;
      const detail = `${code}${description ? `: ${description}` : ""}`;
      const message =
        code === "invalid_grant"
          ? `Canvas refused the authorization code (${detail}): it expired, was already used, or the ` +
            "PKCE verifier does not match. Start the login again."
          : clientErrorMessage(code, detail);
      return new OAuthError(message, {
        ...remote,
        error: code,
        errorDescription: description,
        cause: sanitizedCause(error),
      });
    }
    const unreachable = isNetworkError(error);
    return new OAuthError(
      unreachable
        ? "Could not reach Canvas's token endpoint to finish the login; start the login again."
        : `Unexpected answer from the token endpoint (HTTP ${remote.status ?? "none"}); start the login again.`,
      {
        ...remote,
        error: unreachable ? "network_error" : "unexpected_response",
        cause: sanitizedCause(error),
      },
    );
  }
}

function clientErrorMessage(code: string, detail: string): string {
  if (code === "invalid_client" || code === "unauthorized_client") {
    return (
      `Canvas rejected the OAuth client (${detail}): check CANVAS_CLIENT_ID and CANVAS_CLIENT_SECRET, ` +
      "and that the developer key is still enabled for this account."
    );
  }
  return `Canvas refused the token request (${detail}).`;
}

/** The `{error, error_description}` of a token endpoint refusal, however openid-client reported it. */
async function oauthErrorBody(error: unknown): Promise<{ error: string; description?: string } | undefined> {
  if (error instanceof client.ResponseBodyError) {
    return { error: error.error, description: error.error_description };
  }
  if (error instanceof client.WWWAuthenticateChallengeError) {
    // Canvas's 401 invalid_client carries `WWW-Authenticate: Canvas OAuth 2.0`, which
    // openid-client reports as a challenge before reading the JSON body.
    const body = await readJsonBody(error.response);
    if (
      typeof body === "object" &&
      body !== null &&
      typeof (body as { error?: unknown }).error === "string"
    ) {
      const { error: code, error_description } = body as { error: string; error_description?: unknown };
      return {
        error: code,
        description: typeof error_description === "string" ? error_description : undefined,
      };
    }
    return { error: "invalid_client" };
  }
  return undefined;
}

function stateMismatch(): OAuthError {
  return new OAuthError(
    "The login callback's state does not match the login that was started (a stale or forged callback); " +
      "start the login again.",
    { error: "state_mismatch" },
  );
}

/** Constant-time comparison of two secrets of any length. */
function sameSecret(actual: string | null, expected: string): boolean {
  if (actual === null) return false;
  const a = createHash("sha256").update(actual).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b);
}

/** base64url(SHA-256(verifier)) without padding: the only PKCE method Canvas supports. */
function pkceChallenge(codeVerifier: string): string {
  return createHash("sha256").update(codeVerifier).digest("base64url");
}

function validRedirectUri(value: unknown): string {
  if (typeof value !== "string") throw invalidArgument("redirectUri must be an absolute URL string");
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw invalidArgument(`redirectUri must be an absolute URL, received "${value}"`);
  }
  if (parsed.hash) throw invalidArgument("redirectUri must not have a fragment");
  return parsed.href;
}

function normalizeScopes(value: OAuthOptions["scopes"]): readonly string[] {
  if (value === undefined) return Object.freeze([]);
  const list = typeof value === "string" ? value.split(/\s+/) : value;
  if (!Array.isArray(list) || list.some((s) => typeof s !== "string")) {
    throw invalidArgument("scopes must be a space-separated string or an array of strings");
  }
  return Object.freeze(list.map((s) => s.trim()).filter(Boolean));
}
