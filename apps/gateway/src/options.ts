import type { TokenProvider } from "@easel/auth";
import type { CanvasClientOptions } from "@easel/canvas-client";
import type { TokenStore } from "@easel/token-store";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import type { ManagedCredential } from "./credentials.js";

/** graphql-armor limits. Every request is validated against them before it runs. */
export interface GatewayLimits {
  /** Deepest selection allowed. The outside query is 6 deep. @default 12 */
  maxDepth?: number;
  /**
   * graphql-armor cost: objects 2, scalars 1, ×1.5 per depth level, × `first` of connections.
   * It bounds the response's size; Canvas's cost does not depend on `first` (lists are walked
   * whole). All students of a course with a dozen fields stays well under the default.
   * @default 100000
   */
  maxCost?: number;
  /** Aliases per operation. @default 15 */
  maxAliases?: number;
  /** Lexer tokens per document. @default 2000 */
  maxTokens?: number;
  /** Directives per operation. @default 30 */
  maxDirectives?: number;
  /**
   * Brackets (`{`, `[`, `(`) open at once in the document, counted before it is parsed: the
   * parser recurses per level, so a deeply nested list literal would exhaust the stack well
   * within the token limit. The outside query nests 6. @default 64, or 2 × `maxDepth` when that is more
   */
  maxNesting?: number;
}

/** Tuning of the Canvas client(s) the gateway creates. */
export type CanvasClientTuning = Pick<
  CanvasClientOptions,
  "maxConcurrency" | "timeoutMs" | "retry" | "pacing"
>;

interface CommonOptions {
  /** Canvas root URL, e.g. `https://school.instructure.com`. */
  canvasBaseUrl: string;
  /** @default "/graphql" */
  graphqlEndpoint?: string;
  /**
   * Origins allowed to call the gateway from a browser (exact match, e.g. `https://app.example.edu`).
   * Others get no CORS headers. @default [] (no cross-origin browser access)
   */
  corsOrigins?: readonly string[];
  /** Serve GraphiQL (bundled, no CDN) on GET `graphqlEndpoint`. @default false */
  graphiql?: boolean | { defaultQuery?: string; title?: string };
  /** Allow introspection queries. @default false */
  introspection?: boolean;
  limits?: GatewayLimits;
  /** A GraphQL request's budget; after it, `GATEWAY_TIMEOUT`. @default 30000 */
  requestTimeoutMs?: number;
  /** A pino logger (children get the request id), or `false` for none. @default pino at "info" */
  logger?: Logger | false;
  /** Where metrics register. @default a new Registry per gateway */
  metricsRegistry?: Registry;
  /** Also collect Node process metrics (event loop, memory) into the registry. @default false */
  processMetrics?: boolean;
  /** Canvas client tuning (concurrency, timeouts, retries, pacing). */
  canvasClient?: CanvasClientTuning;
  /** `/readyz` caches its Canvas check this long. @default 5000 */
  readinessCacheMs?: number;
  /** `/readyz` gives Canvas this long to answer. @default 2000 */
  readinessTimeoutMs?: number;
  /**
   * How long whole Canvas lists (a course, its roster, student summaries, assignments, submission
   * chunks, the course list) are reused across requests, per credential: a client paging a big
   * course with `after`, or asking again, costs Canvas nothing until then. `updateGrades` and
   * `setLastAttended` drop the course's lists at once. **A change made in Canvas itself (a grade,
   * a dropped student, a revoked permission) shows only after this long.** `0` turns the cache off.
   * @default 60
   */
  listCacheTtlSeconds?: number;
  /** Lists the cache holds at most (least recently used out). @default 1000 */
  listCacheMaxEntries?: number;
  /**
   * Rows (Canvas objects: enrollments, summaries, submissions…) the cache holds at most, across
   * lists (least recently used out): what bounds its memory, about 0.5 KB a row, so ~125 MB at
   * the default. @default 250000
   */
  listCacheMaxRows?: number;
  /**
   * The list cache's clock, in milliseconds (monotonic). For tests: pass a fake one to expire
   * entries without sleeping. @default performance.now
   */
  clock?: () => number;
  /**
   * **Benchmark only.** `"naive-per-student"` resolves every student's grades, engagement and
   * submissions with requests of its own, to measure what batching saves. Never in production.
   * @deprecated only to make it stand out
   * @default "batched"
   */
  loaderStrategy?: LoaderStrategy;
}

export type LoaderStrategy = "batched" | "naive-per-student";

/** One Canvas credential for everyone; clients present an API key. */
export interface ServiceModeOptions extends CommonOptions {
  mode: "service";
  /**
   * The gateway's Canvas credential: `{ strategy, store, key }` (the gateway runs the
   * TokenManager, and its refreshes show in the metrics), any TokenProvider, or a developer token.
   */
  auth: ManagedCredential | TokenProvider | string;
  /**
   * Accepted API keys (`EASEL_GATEWAY_KEYS`), sent as `Authorization: Bearer <key>` or
   * `x-api-key: <key>`. At least one, each ≥ 16 characters.
   */
  apiKeys: readonly string[];
  /** The store behind `auth`, so `/readyz` can check it is readable. */
  store?: TokenStore;
  /** The record `/readyz` reads from `store`. @default "default" */
  storeKey?: string;
}

/** Each person logs in to Canvas (OAuth); requests run with that person's own token. */
export interface UserModeOptions extends CommonOptions {
  mode: "user";
  /** The Canvas developer key. */
  oauth: {
    clientId: string;
    clientSecret: string;
    /** Where Canvas sends people back. @default `<origin of the login request>/auth/callback` */
    redirectUri?: string;
    /** Canvas scopes, when the developer key enforces them. */
    scopes?: readonly string[];
    /**
     * Allows a plain `http://` Canvas on a loopback host (the simulator). Refused for any
     * other host by `@easel/auth`, so it cannot downgrade a real Canvas.
     * @deprecated Not deprecated: named and tagged so that every use stands out in review.
     * @default false
     */
    dangerouslyAllowInsecureHttp?: boolean;
  };
  /** Where each person's token record lives, under `user:<canvasUserId>`. */
  store: TokenStore;
  /** Signs session cookies (≥ 32 characters). Rotate it to end every session. */
  sessionSecret: string;
  /** Session lifetime. @default 28800 (8 hours) */
  sessionTtlSeconds?: number;
  /**
   * `Secure` cookie attribute: `"auto"` sets it when the request came over TLS (or, with
   * `trustProxy`, `X-Forwarded-Proto: https`). @default "auto"
   */
  secureCookies?: boolean | "auto";
  /** Believe `X-Forwarded-Proto` / `X-Forwarded-Host` (behind a reverse proxy you run). @default false */
  trustProxy?: boolean;
}

export type GatewayOptions = ServiceModeOptions | UserModeOptions;

export interface NormalizedLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxTokens: number;
  maxDirectives: number;
  maxNesting: number;
}

interface NormalizedCommon {
  canvasBaseUrl: string;
  graphqlEndpoint: string;
  corsOrigins: readonly string[];
  graphiql: false | { defaultQuery?: string; title: string };
  introspection: boolean;
  limits: NormalizedLimits;
  requestTimeoutMs: number;
  logger: Logger | undefined;
  metricsRegistry: Registry | undefined;
  processMetrics: boolean;
  canvasClient: CanvasClientTuning;
  readinessCacheMs: number;
  readinessTimeoutMs: number;
  loaderStrategy: LoaderStrategy;
  listCache: { ttlMs: number; maxEntries: number; maxRows: number; now: () => number };
}

export type NormalizedOptions =
  | (NormalizedCommon & {
      mode: "service";
      auth: ManagedCredential | TokenProvider | string;
      apiKeys: readonly string[];
      store: TokenStore | undefined;
      storeKey: string;
    })
  | (NormalizedCommon & {
      mode: "user";
      oauth: {
        clientId: string;
        clientSecret: string;
        redirectUri: string | undefined;
        scopes: readonly string[];
        dangerouslyAllowInsecureHttp: boolean;
      };
      store: TokenStore;
      sessionSecret: string;
      sessionTtlSeconds: number;
      secureCookies: boolean | "auto";
      trustProxy: boolean;
    });

export const DEFAULT_LIMITS: Readonly<NormalizedLimits> = Object.freeze({
  maxDepth: 12,
  maxCost: 100_000,
  maxAliases: 15,
  maxTokens: 2_000,
  maxDirectives: 30,
  maxNesting: 64,
});

function invalid(option: string, expected: string, received: unknown, secret = false): TypeError {
  const shown = secret ? "(value hidden)" : describe(received);
  const error = new TypeError(`Gateway option "${option}" must be ${expected}; received ${shown}`);
  (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
  return error;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}

function int(option: string, value: unknown, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(option, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

function bool(option: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw invalid(option, "a boolean", value);
  return value;
}

function httpUrl(option: string, value: unknown): string {
  if (typeof value !== "string") throw invalid(option, "an absolute http(s) URL", value);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw invalid(option, "an absolute http(s) URL", value);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw invalid(option, "an http(s) URL", value);
  if (url.username || url.password)
    throw invalid(option, "a URL without credentials", "(value hidden)", true);
  return url.toString().replace(/\/+$/, "");
}

function originOf(value: string): string | undefined {
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

function nonEmptyString(option: string, value: unknown, secret = false): string {
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(option, "a non-empty string", value, secret);
  }
  return value;
}

/** Validates every option once (DataLoader style); nothing is re-checked per request. */
export function normalizeGatewayOptions(options: GatewayOptions): NormalizedOptions {
  if (typeof options !== "object" || options === null) throw invalid("options", "an object", options);
  const graphqlEndpoint = options.graphqlEndpoint ?? "/graphql";
  if (typeof graphqlEndpoint !== "string" || !/^\/[\w/-]*$/.test(graphqlEndpoint)) {
    throw invalid("graphqlEndpoint", 'a path such as "/graphql"', graphqlEndpoint);
  }
  const corsOrigins = options.corsOrigins ?? [];
  if (!Array.isArray(corsOrigins)) throw invalid("corsOrigins", "an array of origins", corsOrigins);
  for (const origin of corsOrigins) {
    if (typeof origin !== "string" || origin === "*" || originOf(origin) !== origin) {
      throw invalid("corsOrigins[]", 'an exact origin such as "https://app.example.edu" (no "*")', origin);
    }
  }
  let graphiql: NormalizedCommon["graphiql"] = false;
  if (options.graphiql === true) graphiql = { title: "Easel GraphQL" };
  else if (typeof options.graphiql === "object" && options.graphiql !== null) {
    graphiql = {
      title: options.graphiql.title ?? "Easel GraphQL",
      defaultQuery: options.graphiql.defaultQuery,
    };
  } else if (options.graphiql !== undefined && options.graphiql !== false) {
    throw invalid("graphiql", "a boolean or { defaultQuery, title }", options.graphiql);
  }
  const limits = options.limits ?? {};
  const loaderStrategy = options.loaderStrategy ?? "batched";
  if (loaderStrategy !== "batched" && loaderStrategy !== "naive-per-student") {
    throw invalid("loaderStrategy", '"batched" or "naive-per-student"', loaderStrategy);
  }
  if (
    options.logger !== undefined &&
    options.logger !== false &&
    typeof options.logger?.child !== "function"
  ) {
    throw invalid("logger", "a pino logger or false", options.logger);
  }
  if (options.clock !== undefined && typeof options.clock !== "function") {
    throw invalid("clock", "a function returning milliseconds", options.clock);
  }
  const maxDepth = int("limits.maxDepth", limits.maxDepth, DEFAULT_LIMITS.maxDepth, 1, 100);
  const common: NormalizedCommon = {
    canvasBaseUrl: httpUrl("canvasBaseUrl", options.canvasBaseUrl),
    graphqlEndpoint,
    corsOrigins: [...corsOrigins],
    graphiql,
    introspection: bool("introspection", options.introspection, false),
    limits: {
      maxDepth,
      maxCost: int("limits.maxCost", limits.maxCost, DEFAULT_LIMITS.maxCost, 1, 10_000_000),
      maxAliases: int("limits.maxAliases", limits.maxAliases, DEFAULT_LIMITS.maxAliases, 0, 1000),
      maxTokens: int("limits.maxTokens", limits.maxTokens, DEFAULT_LIMITS.maxTokens, 10, 1_000_000),
      maxDirectives: int("limits.maxDirectives", limits.maxDirectives, DEFAULT_LIMITS.maxDirectives, 0, 1000),
      // Far below the depth where graphql-js's recursive descent runs out of stack; by default
      // room for a raised maxDepth (each selection level opens a brace, arguments more).
      maxNesting: int(
        "limits.maxNesting",
        limits.maxNesting,
        Math.max(DEFAULT_LIMITS.maxNesting, 2 * maxDepth),
        4,
        256,
      ),
    },
    requestTimeoutMs: int("requestTimeoutMs", options.requestTimeoutMs, 30_000, 1, 3_600_000),
    logger: options.logger === false ? undefined : options.logger,
    metricsRegistry: options.metricsRegistry,
    processMetrics: bool("processMetrics", options.processMetrics, false),
    canvasClient: { ...(options.canvasClient ?? {}) },
    readinessCacheMs: int("readinessCacheMs", options.readinessCacheMs, 5_000, 0, 3_600_000),
    readinessTimeoutMs: int("readinessTimeoutMs", options.readinessTimeoutMs, 2_000, 1, 60_000),
    loaderStrategy,
    listCache: {
      ttlMs: int("listCacheTtlSeconds", options.listCacheTtlSeconds, 60, 0, 86_400) * 1000,
      maxEntries: int("listCacheMaxEntries", options.listCacheMaxEntries, 1_000, 1, 1_000_000),
      maxRows: int("listCacheMaxRows", options.listCacheMaxRows, 250_000, 1, 100_000_000),
      now: options.clock ?? (() => performance.now()),
    },
  };

  if (options.mode === "service") {
    const auth = options.auth;
    const isProvider =
      typeof auth === "object" &&
      auth !== null &&
      typeof (auth as Partial<TokenProvider>).getAccessToken === "function" &&
      typeof (auth as Partial<TokenProvider>).handleUnauthorized === "function";
    const isManaged =
      typeof auth === "object" &&
      auth !== null &&
      "strategy" in auth &&
      typeof auth.strategy === "object" &&
      typeof auth.store?.get === "function";
    if (!isProvider && !isManaged && (typeof auth !== "string" || auth.length === 0)) {
      throw invalid("auth", "{ strategy, store, key }, a TokenProvider or a developer token", auth, true);
    }
    if (!Array.isArray(options.apiKeys) || options.apiKeys.length === 0) {
      throw invalid("apiKeys", "a non-empty array of keys (EASEL_GATEWAY_KEYS)", options.apiKeys, true);
    }
    for (const key of options.apiKeys) {
      if (typeof key !== "string" || key.length < 16 || /[\s,]/.test(key)) {
        throw invalid("apiKeys[]", "strings of at least 16 characters without spaces or commas", key, true);
      }
    }
    return {
      ...common,
      mode: "service",
      auth,
      apiKeys: [...options.apiKeys],
      store: options.store,
      storeKey: options.storeKey ?? "default",
    };
  }
  if (options.mode === "user") {
    const oauth = options.oauth;
    if (typeof oauth !== "object" || oauth === null)
      throw invalid("oauth", "{ clientId, clientSecret }", oauth);
    const store = options.store;
    if (typeof store !== "object" || store === null || typeof store.get !== "function") {
      throw invalid("store", "a TokenStore", store);
    }
    const sessionSecret = nonEmptyString("sessionSecret", options.sessionSecret, true);
    if (sessionSecret.length < 32)
      throw invalid("sessionSecret", "at least 32 characters", "(value hidden)", true);
    const secureCookies = options.secureCookies ?? "auto";
    if (secureCookies !== "auto" && typeof secureCookies !== "boolean") {
      throw invalid("secureCookies", 'a boolean or "auto"', secureCookies);
    }
    return {
      ...common,
      mode: "user",
      oauth: {
        clientId: nonEmptyString("oauth.clientId", oauth.clientId),
        clientSecret: nonEmptyString("oauth.clientSecret", oauth.clientSecret, true),
        redirectUri:
          oauth.redirectUri === undefined ? undefined : httpUrl("oauth.redirectUri", oauth.redirectUri),
        scopes: [...(oauth.scopes ?? [])],
        dangerouslyAllowInsecureHttp: bool(
          "oauth.dangerouslyAllowInsecureHttp",
          oauth.dangerouslyAllowInsecureHttp,
          false,
        ),
      },
      store,
      sessionSecret,
      sessionTtlSeconds: int("sessionTtlSeconds", options.sessionTtlSeconds, 8 * 3600, 60, 30 * 86400),
      secureCookies,
      trustProxy: bool("trustProxy", options.trustProxy, false),
    };
  }
  throw invalid("mode", '"service" or "user"', (options as { mode?: unknown }).mode);
}
