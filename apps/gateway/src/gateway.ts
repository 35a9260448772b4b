import { setMaxListeners } from "node:events";
import type { IncomingMessage, RequestListener } from "node:http";
import { oauthStrategy } from "@easel/config";
import { useDeferStream } from "@graphql-yoga/plugin-defer-stream";
import { GraphQLError } from "graphql";
import { createYoga, type Plugin, type YogaLogger, type YogaServerInstance } from "graphql-yoga";
import { type Logger, pino } from "pino";
import { canvasLoggerFor } from "./canvas-logging.js";
import type { GatewayContext } from "./context.js";
import { type Credentials, serviceCredentials, userCacheScope, userCredentials } from "./credentials.js";
import { alreadyLogged, loggingMaskError } from "./error-log.js";
import { maskError } from "./errors.js";
import { ListCache } from "./list-cache.js";
import { createLoaders } from "./loaders.js";
import { createGatewayLogger } from "./logger.js";
import { GatewayMetrics } from "./metrics.js";
import { type GatewayOptions, type NormalizedOptions, normalizeGatewayOptions } from "./options.js";
import { usePlanner } from "./planner.js";
import { useAccessLog } from "./plugins/use-access-log.js";
import { apiKeyMatcher, useApiKeyAuth } from "./plugins/use-api-key-auth.js";
import { useCanvasAccounting } from "./plugins/use-canvas-accounting.js";
import { CSRF_HEADER, useCsrfGuard } from "./plugins/use-csrf-guard.js";
import { useGraphiQL } from "./plugins/use-graphiql.js";
import { useHealth } from "./plugins/use-health.js";
import { useLimits } from "./plugins/use-limits.js";
import { useMetrics } from "./plugins/use-metrics.js";
import { useRequestId } from "./plugins/use-request-id.js";
import { useRequestTimeout } from "./plugins/use-request-timeout.js";
import { useTrustedDocuments } from "./plugins/use-trusted-documents.js";
import { useUserSession } from "./plugins/use-user-session.js";
import { sharedResponseStore } from "./replicas/cache-store.js";
import { SharedBackend } from "./replicas/shared-backend.js";
import { SharedLists } from "./replicas/shared-lists.js";
import { sharedSessionBackend } from "./replicas/shared-sessions.js";
import { executionScope, type RequestState, requestState } from "./request-state.js";
import {
  MemoryResponseStore,
  ResponseCache,
  responseCacheHandler,
  useResponseCache,
  wantsRefresh,
} from "./response-cache.js";
import { gatewaySchema } from "./schema/index.js";
import { SessionStore } from "./sessions.js";
import { observeStoredExpiry, observeUserExpiry } from "./token-expiry.js";

/** A gateway, not yet listening: drive it with `fetch` (tests) or mount `handler` on a server. */
export interface Gateway {
  readonly mode: "service" | "user";
  readonly yoga: YogaServerInstance<Record<string, unknown>, GatewayContext>;
  /** WHATWG fetch: `gateway.fetch("http://gateway/graphql", { method: "POST", ... })`. */
  readonly fetch: (input: Request | string | URL, init?: RequestInit) => Promise<Response>;
  /** A `node:http` request listener. */
  readonly handler: RequestListener;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  /** The cross-request list cache: its size, and `clear()` to drop every credential's lists. */
  readonly listCache: { readonly stats: { entries: number; rows: number; inFlight: number }; clear(): void };
  /** The response cache (undefined when turned off, or with the list cache off). */
  readonly responseCache: ResponseCache | undefined;
  /** Closes the Canvas clients. Call after the HTTP server stopped. */
  close(): Promise<void>;
}

/** Yoga's own log lines (masked errors' originals among them) into pino, with the original error. */
function yogaLogger(log: Logger): YogaLogger {
  const fields = (args: unknown[]) => {
    const [first] = args;
    if (first instanceof GraphQLError) {
      return { err: first.originalError ?? first, graphqlPath: first.path?.join(".") };
    }
    if (first instanceof Error) return { err: first };
    return { detail: args.map((a) => (typeof a === "string" ? a : String(a))).join(" ") };
  };
  return {
    debug: (...args: unknown[]) => log.debug(fields(args), "graphql-yoga"),
    info: (...args: unknown[]) => log.info(fields(args), "graphql-yoga"),
    warn: (...args: unknown[]) => log.warn(fields(args), "graphql-yoga"),
    // Masked errors were logged as they were masked (a client's mistake without a stack).
    error: (...args: unknown[]) => {
      if (!alreadyLogged(args[0])) log.error(fields(args), "graphql error");
    },
  };
}

const MAX_REQUEST_BODY_BYTES = 1_000_000;

/** The API key of a node:http request (as `presentedKey` reads a Fetch one). */
function presentedNodeKey(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  const apiKey = req.headers["x-api-key"];
  return bearer ?? (typeof apiKey === "string" ? apiKey.trim() : undefined);
}

function corsFor(options: NormalizedOptions) {
  const allowed = new Set(options.corsOrigins);
  return (request: Request) => {
    const origin = request.headers.get("origin");
    if (!origin || !allowed.has(origin)) return false as const;
    return {
      origin: [origin],
      // Cookies cross origins only in user mode, and only to listed origins.
      credentials: options.mode === "user",
      methods: ["GET", "POST", "OPTIONS"],
      allowedHeaders: [
        "content-type",
        "authorization",
        "x-api-key",
        "x-request-id",
        "cache-control",
        CSRF_HEADER,
      ],
      exposedHeaders: ["x-request-id"],
      maxAge: 600,
    };
  };
}

/**
 * Builds the gateway: Yoga + the Pothos schema + per-request DataLoaders, behind an ordered
 * list of plugins (see below). Nothing listens until you mount `handler` or call `startGateway`.
 *
 * @example
 * ```ts
 * const gateway = createGateway({
 *   mode: "service",
 *   canvasBaseUrl: "https://school.instructure.com",
 *   auth: { strategy: developerToken({ baseUrl }), store, key: "default" },
 *   apiKeys: process.env.EASEL_GATEWAY_KEYS!.split(","),
 * });
 * const response = await gateway.fetch("http://gateway/graphql", {
 *   method: "POST",
 *   headers: { "content-type": "application/json", "x-api-key": key },
 *   body: JSON.stringify({ query: '{ course(id: "1") { name } }' }),
 * });
 * ```
 */
export function createGateway(input: GatewayOptions): Gateway {
  const options = normalizeGatewayOptions(input);
  const log = options.logger ?? (input.logger === false ? pino({ enabled: false }) : createGatewayLogger());
  const metrics = new GatewayMetrics(options.metricsRegistry, { processMetrics: options.processMetrics });
  const endpoint = options.graphqlEndpoint;
  // EASEL_GATEWAY_CACHE: lists, sessions and logins in the Redis every replica shares.
  const shared = options.sharedCache && new SharedBackend({ ...options.sharedCache, log });
  const listsExpireAt = new WeakMap<RequestState, number>();
  const listCache = new ListCache({
    ...options.listCache,
    shared:
      shared &&
      new SharedLists({
        backend: shared,
        ttlMs: options.listCache.ttlMs,
        maxRows: options.listCache.maxRows,
        maxEntries: options.listCache.maxEntries,
      }),
    onLookup: (list, result, expiresAt) => {
      metrics.listCacheLookups.inc({ list, result });
      // An answer lasts no longer than the earliest-expiring list it was made of.
      const state = expiresAt === undefined ? undefined : executionScope.getStore();
      if (state && expiresAt! < (listsExpireAt.get(state) ?? Number.POSITIVE_INFINITY)) {
        listsExpireAt.set(state, expiresAt!);
      }
    },
    onEvict: (reason) => metrics.listCacheEvictions.inc({ reason }),
  });
  metrics.observeListCache(() => listCache.stats);
  const clientSettings = {
    baseUrl: options.canvasBaseUrl,
    tuning: options.canvasClient,
    logger: canvasLoggerFor(log, metrics),
    authLogger: log,
    readinessTimeoutMs: options.readinessTimeoutMs,
    refreshBufferSeconds: options.tokenRefreshBufferSeconds,
    onTokenEvent: (event: { type: string; outcome?: string }) => {
      if (event.type === "refresh" && event.outcome === "refreshed")
        metrics.tokenRefreshes.inc({ mode: options.mode });
    },
  };

  const responseCache =
    options.responseCache && options.listCache.ttlMs > 0
      ? new ResponseCache(
          options.responseCache.store ??
            (shared
              ? sharedResponseStore(shared)
              : new MemoryResponseStore({
                  maxBytes: options.responseCache.maxBytes,
                  now: options.listCache.now,
                })),
          options.listCache.ttlMs,
        )
      : undefined;

  let credentials: Credentials;
  let sessionPlugin: Plugin | undefined;
  if (options.mode === "service") {
    credentials = serviceCredentials(options.auth, options.store, options.storeKey, clientSettings);
    observeStoredExpiry(metrics, options.auth, options.store, options.storeKey);
  } else {
    const { clientId, clientSecret, redirectUri, scopes, dangerouslyAllowInsecureHttp } = options.oauth;
    const strategy = oauthStrategy(
      {
        baseUrl: options.canvasBaseUrl,
        accessToken: undefined,
        oauthClient: { clientId, clientSecret, redirectUri },
      },
      { purpose: "Easel gateway", scopes, dangerouslyAllowInsecureHttp },
    );
    const perUser = userCredentials(strategy, options.store, clientSettings);
    credentials = perUser;
    observeUserExpiry(metrics, options.store, () => perUser.activeKeys?.() ?? []);
    const forgetUser = (userId: number) => {
      perUser.forget?.(userId);
      listCache.invalidateScope(userCacheScope(userId));
      void responseCache?.invalidateScope(userCacheScope(userId));
      return listCache.settled();
    };
    sessionPlugin = useUserSession({
      strategy,
      store: options.store,
      sessions: new SessionStore(
        options.sessionSecret,
        options.sessionTtlSeconds,
        shared && sharedSessionBackend(shared),
      ),
      sessionTtlSeconds: options.sessionTtlSeconds,
      graphqlEndpoint: endpoint,
      redirectUri: options.oauth.redirectUri,
      secureCookies: options.secureCookies,
      trustProxy: options.trustProxy,
      baseLog: log,
      replaceTokens: options.oauth.replaceTokens,
      // A new login may come with other scopes or roles, a logout ends the token: start from Canvas again.
      onLogin: forgetUser,
      onLogout: forgetUser,
    });
  }

  // The order is the design: each plugin may end the request, so cheap and public things first.
  const plugins: Array<Plugin | false | undefined> = [
    // Request id first: every later log line and response carries it.
    useRequestId(log),
    // Observers of every response, including those later plugins end early (401s, probes).
    useAccessLog(log),
    useMetrics(metrics, endpoint),
    // Probes answer without credentials.
    useHealth(
      shared ? { ...credentials.readiness, sharedCache: () => shared.ping() } : credentials.readiness,
      {
        cacheMs: options.readinessCacheMs,
      },
    ),
    // User mode: /auth/* routes, then the session check on the GraphQL endpoint.
    sessionPlugin,
    // User mode: the session cookie rides along on form posts from the same site; forms are refused.
    options.mode === "user" && useCsrfGuard(endpoint, { graphiql: Boolean(options.graphiql) }),
    // The GraphiQL page holds no data: served after the session check, before the API-key check.
    options.graphiql &&
      useGraphiQL(endpoint, {
        title: options.graphiql.title,
        defaultQuery: options.graphiql.defaultQuery,
        prefillHeaders: options.graphiql.prefillHeaders,
      }),
    // Service mode: an API key on every GraphQL request.
    options.mode === "service" && useApiKeyAuth(options.apiKeys, endpoint, log),
    // Production's allowlist: only registered documents, by hash (still limited and validated below).
    options.trustedDocuments && useTrustedDocuments(options.trustedDocuments),
    // A repeat of a stored answer ends here (after authentication, before parsing).
    responseCache &&
      useResponseCache(
        responseCache,
        (request) => {
          const principal = requestState(request, log).principal;
          return principal ? credentials.cacheScope(principal) : undefined;
        },
        metrics,
        {
          now: options.listCache.now,
          listsExpireAt: (request) => listsExpireAt.get(requestState(request, log)),
        },
      ),
    // Reject abusive documents before anything executes.
    useLimits(options.limits, { introspection: options.introspection }),
    // Execution: attribute Canvas requests to this request, and bound its time.
    useCanvasAccounting(log, metrics),
    useRequestTimeout(options.requestTimeoutMs),
    // Starts every list the operation needs at once, before resolvers reach them.
    // (Not with the benchmark's naive loaders: they stand for no batching and no planning.)
    options.loaderStrategy === "batched" && usePlanner(responseCache),
    // `@defer`/`@stream`: a roster answers before slow analytics (multipart/mixed or SSE increments).
    useDeferStream() as Plugin,
  ];

  const yoga = createYoga<Record<string, unknown>, GatewayContext>({
    schema: gatewaySchema(),
    graphqlEndpoint: endpoint,
    // GraphiQL comes from our plugin (bundled, ordered after auth); no Yoga landing page.
    graphiql: false,
    landingPage: false,
    // Operation batching would multiply Canvas costs behind one request's limits.
    batching: false,
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    cors: corsFor(options),
    maskedErrors: { maskError: loggingMaskError(log, maskError) },
    logging: yogaLogger(log),
    context: ({ request }): GatewayContext => {
      const state = requestState(request, log);
      if (!state.principal) throw new Error("no principal: an auth plugin must run before execution");
      const requestSignal = request.signal ?? new AbortController().signal;
      const execution = new AbortController();
      const signal = AbortSignal.any([requestSignal, execution.signal]);
      // Every Canvas request of this GraphQL request listens on it: dozens run at once.
      setMaxListeners(1000, signal);
      const canvas = credentials.portFor(state.principal);
      const lists = listCache.scoped(credentials.cacheScope(state.principal), {
        signal,
        refresh: wantsRefresh(request.headers.get("cache-control")),
      });
      return {
        requestId: state.requestId,
        log: state.log,
        principal: state.principal,
        canvas,
        lists,
        loaders: createLoaders(canvas, {
          strategy: options.loaderStrategy,
          signal,
          hooks: { onBatch: (loader, size) => metrics.loaderBatchSize.observe({ loader }, size) },
          lists,
        }),
        signal,
        execution,
        requestSignal,
        invalidateResponses: async () => {
          await responseCache?.invalidateAll();
        },
      };
    },
    plugins: plugins.filter((plugin): plugin is Plugin => Boolean(plugin)),
  });

  // Service mode: a stored answer is sent before Yoga sees the request (see response-cache.ts).
  const yogaHandler = yoga as unknown as RequestListener;
  let handler = yogaHandler;
  if (responseCache && options.mode === "service") {
    const match = apiKeyMatcher(options.apiKeys);
    handler = responseCacheHandler({
      cache: responseCache,
      endpoint,
      maxBodyBytes: MAX_REQUEST_BODY_BYTES,
      scopeOf: (req) => {
        const keyId = match(presentedNodeKey(req));
        return keyId === undefined ? undefined : credentials.cacheScope({ kind: "service", keyId });
      },
      metrics,
      log,
      next: yogaHandler,
    });
  }

  let closing: Promise<void> | undefined;
  return {
    mode: options.mode,
    yoga,
    // Yoga's fetch takes the same inputs; its types name whatwg-node's Request, not the global one.
    fetch: (input, init) =>
      Promise.resolve(
        init === undefined
          ? yoga.fetch(input as unknown as string)
          : yoga.fetch(input as unknown as string, init),
      ),
    handler,
    metrics,
    responseCache,
    logger: log,
    listCache,
    close: () => {
      closing ??= Promise.all([credentials.close(), shared?.close()]).then(() => undefined);
      return closing;
    },
  };
}
