import type { TokenProvider } from "@easel/auth";
import type { CanvasClientOptions } from "@easel/canvas-client";
import { MultiFernet } from "@easel/fernet";
import type { TokenStore } from "@easel/token-store";
import type { Logger } from "pino";
import type { Registry } from "prom-client";
import { z } from "zod";
import type { ManagedCredential } from "./credentials.js";
import { parseSharedCacheUrl, SHARED_CACHE_FORMS, type SharedCacheTarget } from "./replicas/cache-url.js";
import type { ResponseStore } from "./response-cache.js";
import { loadTrustedDocuments, type TrustedDocumentManifest } from "./trusted-documents.js";

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
  /**
   * Serve GraphiQL (bundled, no CDN) on GET `graphqlEndpoint`. `dangerouslyPrefillHeaders` fills its
   * headers editor (e.g. `{ "x-api-key": key }`) so the first query answers: the page is served
   * without credentials, so anyone who can open it reads them. Only for a local demo's own key.
   * @default false
   */
  graphiql?:
    | boolean
    | { defaultQuery?: string; title?: string; dangerouslyPrefillHeaders?: Readonly<Record<string, string>> };
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
  /** Refresh an OAuth token when less than this many seconds remain. @default 300 */
  tokenRefreshBufferSeconds?: number;
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
   * Share the list cache, user sessions and pending logins with the other replicas through Redis,
   * so N replicas behind any load balancer behave as one (one Canvas walk per list for the whole
   * fleet, a login begun on one replica completes on another):
   * `redis://[[user]:password@]host[:port][/db][?prefix=easel:gw:]` (`rediss://` for TLS; env
   * `EASEL_GATEWAY_CACHE` for `easel serve`). Values are Fernet-encrypted (`cacheFernetKeys`).
   * When Redis is away, cached reads go to Canvas, sessions answer 503 and `/readyz` fails.
   * @default undefined (everything in this process: right for one replica)
   */
  cache?: string;
  /**
   * Fernet keys of the shared cache's values (comma-separated, the first encrypts): cached lists
   * hold student data, sessions name users. Every replica needs the same list.
   * @default process.env.EASEL_FERNET_KEY
   */
  cacheFernetKeys?: string;
  /**
   * Whole answers of queries over course data (`course`, `courses`), kept per credential, document
   * and variables for the list cache's TTL: the same query again is answered from the stored bytes
   * (in service mode before any GraphQL work). Answers with errors are never kept; any mutation
   * drops every stored answer, a login or logout the user's; `Cache-Control: no-cache` skips them.
   * `false` turns it off (it is off with the list cache too). `store` swaps the in-process memory
   * for a shared one; `maxBytes` bounds the memory one. @default { maxBytes: 67108864 }
   */
  responseCache?: boolean | { store?: ResponseStore; maxBytes?: number };
  /**
   * The list cache's clock, in milliseconds (monotonic). For tests: pass a fake one to expire
   * entries without sleeping. @default performance.now
   */
  clock?: () => number;
  /**
   * Trusted documents: run only these operations, asked for by SHA-256 hash; any other document is
   * refused with `TRUSTED_DOCUMENT_REQUIRED`. The path of a JSON manifest `{ "<sha256>": "<document>" }`
   * (`easel gateway register-operations` writes one; env `EASEL_GATEWAY_TRUSTED_DOCUMENTS` for
   * `easel serve`) or the manifest itself, read and checked once at start.
   * @default undefined (any valid document runs)
   */
  trustedDocuments?: string | TrustedDocumentManifest;
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
    /** At login, ask Canvas to delete the person's other tokens for this key (`replace_tokens=1`). @default false */
    replaceTokens?: boolean;
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
  tokenRefreshBufferSeconds: number;
  graphqlEndpoint: string;
  corsOrigins: readonly string[];
  graphiql:
    | false
    | { defaultQuery?: string; title: string; prefillHeaders?: Readonly<Record<string, string>> };
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
  /** Redis shared by the replicas, or undefined (in-process). */
  sharedCache: { target: SharedCacheTarget; fernetKeys: string } | undefined;
  responseCache: false | { store: ResponseStore | undefined; maxBytes: number };
  trustedDocuments: ReadonlyMap<string, string> | undefined;
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
        replaceTokens: boolean;
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

/** Options whose values are credentials: an error names them but never shows what was received. */
const prefillSchema = z.object({
  graphiql: z.looseObject({
    dangerouslyPrefillHeaders: z
      .record(z.string(), z.string(expecting("a header string")), expecting("an object of header strings"))
      .optional(),
  }),
});

const SECRET_OPTIONS = new Set([
  "auth",
  "apiKeys",
  "apiKeys[]",
  "sessionSecret",
  "oauth.clientSecret",
  "cache",
  "cacheFernetKeys",
]);
/** Marks a custom issue whose received value must not be shown (a URL with credentials). */
const HIDE_VALUE = { hideValue: true };

/** Every issue of `schema` says `expected`: the phrase the option's error shows. */
function expecting(expected: string) {
  return { error: expected };
}

function intIn(min: number, max: number) {
  const expected = expecting(`an integer from ${min} to ${max}`);
  return z.number(expected).int(expected).min(min, expected).max(max, expected);
}

const bool = z.boolean(expecting("a boolean"));

function nonEmptyString() {
  const expected = expecting("a non-empty string");
  return z.string(expected).min(1, expected);
}

const httpUrl = z.string(expecting("an absolute http(s) URL")).transform((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.issues.push({ code: "custom", message: "an absolute http(s) URL", input: value });
    return z.NEVER;
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    ctx.issues.push({ code: "custom", message: "an http(s) URL", input: value });
    return z.NEVER;
  }
  if (url.username || url.password) {
    ctx.issues.push({
      code: "custom",
      message: "a URL without credentials",
      input: value,
      params: HIDE_VALUE,
    });
    return z.NEVER;
  }
  return url.toString().replace(/\/+$/, "");
});

function originOf(value: string): string | undefined {
  try {
    return new URL(value).origin;
  } catch {
    return undefined;
  }
}

const commonSchema = z.object({
  canvasBaseUrl: httpUrl,
  graphqlEndpoint: z
    .string(expecting('a path such as "/graphql"'))
    .regex(/^\/[\w/-]*$/, expecting('a path such as "/graphql"'))
    .default("/graphql"),
  corsOrigins: z
    .array(
      z
        .string(expecting('an exact origin such as "https://app.example.edu" (no "*")'))
        .refine(
          (origin) => origin !== "*" && originOf(origin) === origin,
          expecting('an exact origin such as "https://app.example.edu" (no "*")'),
        ),
      expecting("an array of origins"),
    )
    .default([]),
  graphiql: z
    .union(
      [
        z.boolean(),
        z.object({
          defaultQuery: z.string().optional(),
          title: z.string().optional(),
          dangerouslyPrefillHeaders: z.record(z.string(), z.string()).optional(),
        }),
      ],
      expecting("a boolean or { defaultQuery, title, dangerouslyPrefillHeaders }"),
    )
    .default(false),
  introspection: bool.default(false),
  limits: z
    .object(
      {
        maxDepth: intIn(1, 100).default(DEFAULT_LIMITS.maxDepth),
        maxCost: intIn(1, 10_000_000).default(DEFAULT_LIMITS.maxCost),
        maxAliases: intIn(0, 1000).default(DEFAULT_LIMITS.maxAliases),
        maxTokens: intIn(10, 1_000_000).default(DEFAULT_LIMITS.maxTokens),
        maxDirectives: intIn(0, 1000).default(DEFAULT_LIMITS.maxDirectives),
        maxNesting: intIn(4, 256).optional(),
      },
      expecting("an object of limits"),
    )
    .default(DEFAULT_LIMITS),
  requestTimeoutMs: intIn(1, 3_600_000).default(30_000),
  logger: z
    .union(
      [z.literal(false), z.custom<Logger>((v) => typeof (v as Partial<Logger> | null)?.child === "function")],
      expecting("a pino logger or false"),
    )
    .optional(),
  metricsRegistry: z.custom<Registry>().optional(),
  processMetrics: bool.default(false),
  canvasClient: z.custom<CanvasClientTuning>().optional(),
  readinessCacheMs: intIn(0, 3_600_000).default(5_000),
  tokenRefreshBufferSeconds: intIn(0, 86_400).default(300),
  readinessTimeoutMs: intIn(1, 60_000).default(2_000),
  loaderStrategy: z
    .enum(["batched", "naive-per-student"], expecting('"batched" or "naive-per-student"'))
    .default("batched"),
  listCacheTtlSeconds: intIn(0, 86_400).default(60),
  listCacheMaxEntries: intIn(1, 1_000_000).default(1_000),
  listCacheMaxRows: intIn(1, 100_000_000).default(250_000),
  cache: z
    .string(expecting(SHARED_CACHE_FORMS))
    .transform((value, ctx) => {
      const parsed = parseSharedCacheUrl(value);
      if ("error" in parsed) {
        ctx.issues.push({ code: "custom", message: `${SHARED_CACHE_FORMS}: ${parsed.error}`, input: value });
        return z.NEVER;
      }
      return parsed;
    })
    .optional(),
  cacheFernetKeys: nonEmptyString().optional(),
  responseCache: z
    .union(
      [
        z.boolean(),
        z.object({
          store: z
            .custom<ResponseStore>(
              (v) => typeof (v as Partial<ResponseStore> | null)?.get === "function",
              expecting("a ResponseStore (get, set, generation, bump)"),
            )
            .optional(),
          maxBytes: intIn(1024, 2 ** 40).optional(),
        }),
      ],
      expecting("true, false or { store?, maxBytes? }"),
    )
    .default(true),
  clock: z
    .custom<() => number>((v) => typeof v === "function", expecting("a function returning milliseconds"))
    .optional(),
  trustedDocuments: z
    .union(
      [nonEmptyString(), z.record(z.string(), z.string())],
      expecting("the path of a manifest or a { sha256: document } object"),
    )
    .optional(),
});

function isProvider(auth: unknown): auth is TokenProvider {
  const candidate = auth as Partial<TokenProvider> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    typeof candidate.getAccessToken === "function" &&
    typeof candidate.handleUnauthorized === "function"
  );
}

function isManaged(auth: unknown): auth is ManagedCredential {
  const candidate = auth as Partial<ManagedCredential> | null;
  return (
    typeof candidate === "object" &&
    candidate !== null &&
    "strategy" in candidate &&
    typeof candidate.strategy === "object" &&
    typeof candidate.store?.get === "function"
  );
}

const isTokenStore = (v: unknown) =>
  typeof v === "object" && v !== null && typeof (v as Partial<TokenStore>).get === "function";

const serviceSchema = z.object({
  auth: z.custom<ManagedCredential | TokenProvider | string>(
    (auth) => isProvider(auth) || isManaged(auth) || (typeof auth === "string" && auth.length > 0),
    expecting("{ strategy, store, key }, a TokenProvider or a developer token"),
  ),
  apiKeys: z
    .array(
      z
        .string(expecting("strings of at least 16 characters without spaces or commas"))
        .min(16, expecting("strings of at least 16 characters without spaces or commas"))
        .regex(/^[^\s,]*$/, expecting("strings of at least 16 characters without spaces or commas")),
      expecting("a non-empty array of keys (EASEL_GATEWAY_KEYS)"),
    )
    .min(1, expecting("a non-empty array of keys (EASEL_GATEWAY_KEYS)")),
  store: z
    .custom<TokenStore>((v) => v === undefined || isTokenStore(v), expecting("a TokenStore"))
    .optional(),
  storeKey: nonEmptyString().default("default"),
});

const userSchema = z.object({
  oauth: z.object(
    {
      clientId: nonEmptyString(),
      clientSecret: nonEmptyString(),
      redirectUri: httpUrl.optional(),
      scopes: z
        .array(z.string(expecting("an array of scope names")), expecting("an array of scope names"))
        .default([]),
      replaceTokens: bool.default(false),
      dangerouslyAllowInsecureHttp: bool.default(false),
    },
    expecting("{ clientId, clientSecret }"),
  ),
  store: z.custom<TokenStore>(isTokenStore, expecting("a TokenStore")),
  sessionSecret: nonEmptyString().min(32, expecting("at least 32 characters")),
  sessionTtlSeconds: intIn(60, 30 * 86400).default(8 * 3600),
  secureCookies: z.union([z.boolean(), z.literal("auto")], expecting('a boolean or "auto"')).default("auto"),
  trustProxy: bool.default(false),
});

/** `["limits", "maxDepth"]` -> `limits.maxDepth`; an array element is `corsOrigins[]`. */
function optionName(path: readonly PropertyKey[]): string {
  return path
    .map((part) => (typeof part === "number" ? "[]" : `.${String(part)}`))
    .join("")
    .slice(1);
}

function received(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const part of path) value = (value as Record<PropertyKey, unknown> | null | undefined)?.[part];
  return value;
}

function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 60)}…` : value);
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (typeof value === "object") return "an object";
  if (typeof value === "function") return "a function";
  return String(value);
}

function invalid(option: string, expected: string, shown: string): TypeError {
  const error = new TypeError(`Gateway option "${option}" must be ${expected}; received ${shown}`);
  (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
  return error;
}

/** Parses with `schema`, or throws the TypeError of the first issue: the option, what it must be, what came. */
function parse<T extends z.ZodType>(schema: T, input: unknown): z.output<T> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const option = optionName(issue.path);
  const hidden =
    SECRET_OPTIONS.has(option) ||
    option.startsWith("graphiql.dangerouslyPrefillHeaders") ||
    (issue.code === "custom" && (issue.params as typeof HIDE_VALUE | undefined)?.hideValue === true);
  throw invalid(option, issue.message, hidden ? "(value hidden)" : describe(received(input, issue.path)));
}

/** The shared cache's Fernet keys, checked at start: a replica without them must not start. */
function cacheKeys(given: string | undefined): string {
  const keys = given ?? process.env.EASEL_FERNET_KEY;
  const expected =
    "a Fernet key list (comma-separated url-safe base64 keys, the first encrypts; create one with " +
    "`easel key generate`) when `cache` is set: cached lists hold student data";
  if (keys === undefined || keys.trim() === "") {
    throw invalid("cacheFernetKeys", `${expected}. Set EASEL_FERNET_KEY (the same on every replica)`, "none");
  }
  try {
    MultiFernet.fromKeyList(keys);
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw invalid("cacheFernetKeys", `${expected} (${why.replace(/\.$/, "")})`, "(value hidden)");
  }
  return keys;
}

/** Validates every option once (DataLoader style); nothing is re-checked per request. */
export function normalizeGatewayOptions(options: GatewayOptions): NormalizedOptions {
  if (typeof options !== "object" || options === null)
    throw invalid("options", "an object", describe(options));
  // Checked before the union below, whose error would name only "graphiql": these are credentials.
  if (typeof options.graphiql === "object" && options.graphiql !== null) {
    parse(prefillSchema, { graphiql: options.graphiql });
  }
  const c = parse(commonSchema, options);
  const common: NormalizedCommon = {
    canvasBaseUrl: c.canvasBaseUrl,
    graphqlEndpoint: c.graphqlEndpoint,
    corsOrigins: c.corsOrigins,
    graphiql:
      c.graphiql === false
        ? false
        : c.graphiql === true
          ? { title: "Easel GraphQL" }
          : {
              title: c.graphiql.title ?? "Easel GraphQL",
              defaultQuery: c.graphiql.defaultQuery,
              prefillHeaders: c.graphiql.dangerouslyPrefillHeaders,
            },
    introspection: c.introspection,
    limits: {
      ...c.limits,
      // Far below the depth where graphql-js's recursive descent runs out of stack; by default
      // room for a raised maxDepth (each selection level opens a brace, arguments more).
      maxNesting: c.limits.maxNesting ?? Math.max(DEFAULT_LIMITS.maxNesting, 2 * c.limits.maxDepth),
    },
    requestTimeoutMs: c.requestTimeoutMs,
    logger: c.logger === false ? undefined : c.logger,
    metricsRegistry: c.metricsRegistry,
    processMetrics: c.processMetrics,
    canvasClient: { ...(c.canvasClient ?? {}) },
    readinessCacheMs: c.readinessCacheMs,
    tokenRefreshBufferSeconds: c.tokenRefreshBufferSeconds,
    readinessTimeoutMs: c.readinessTimeoutMs,
    loaderStrategy: c.loaderStrategy,
    listCache: {
      ttlMs: c.listCacheTtlSeconds * 1000,
      maxEntries: c.listCacheMaxEntries,
      maxRows: c.listCacheMaxRows,
      now: c.clock ?? (() => performance.now()),
    },
    sharedCache:
      c.cache === undefined ? undefined : { target: c.cache, fernetKeys: cacheKeys(c.cacheFernetKeys) },
    responseCache:
      c.responseCache === false
        ? false
        : {
            store: c.responseCache === true ? undefined : c.responseCache.store,
            maxBytes: (c.responseCache === true ? undefined : c.responseCache.maxBytes) ?? 64 * 1024 * 1024,
          },
    trustedDocuments: c.trustedDocuments === undefined ? undefined : loadTrustedDocuments(c.trustedDocuments),
  };
  if (options.mode === "service") {
    const service = parse(serviceSchema, options);
    return {
      ...common,
      mode: "service",
      auth: service.auth,
      apiKeys: service.apiKeys,
      store: service.store,
      storeKey: service.storeKey,
    };
  }
  if (options.mode === "user") {
    const user = parse(userSchema, options);
    return {
      ...common,
      mode: "user",
      oauth: { ...user.oauth, redirectUri: user.oauth.redirectUri },
      store: user.store,
      sessionSecret: user.sessionSecret,
      sessionTtlSeconds: user.sessionTtlSeconds,
      secureCookies: user.secureCookies,
      trustProxy: user.trustProxy,
    };
  }
  const mode = (options as { mode?: unknown }).mode;
  throw invalid("mode", '"service" or "user"', describe(mode));
}
