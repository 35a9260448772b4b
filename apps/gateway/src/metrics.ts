import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * The gateway's Prometheus metrics, in one registry per gateway (tests run several gateways in
 * one process; the global registry would make them collide). Label values are bounded: routes
 * and Canvas paths are templates, never raw URLs.
 */
export class GatewayMetrics {
  readonly registry: Registry;
  readonly httpRequests: Counter<"method" | "route" | "status">;
  readonly httpDuration: Histogram<"method" | "route">;
  readonly graphqlErrors: Counter<"code">;
  readonly canvasRequests: Counter<"method" | "route" | "status">;
  readonly canvasDuration: Histogram<"method" | "route">;
  readonly canvasRequestsPerOperation: Histogram<never>;
  readonly tokenRefreshes: Counter<"mode">;
  readonly loaderBatchSize: Histogram<"loader">;
  readonly listCacheLookups: Counter<"list" | "result">;
  readonly responseCacheLookups: Counter<"result">;
  readonly listCacheEvictions: Counter<"reason">;
  readonly listCacheSize: Gauge<"unit">;
  readonly tokenExpiry: Gauge<"key">;
  #tokenExpiry: (() => Promise<ReadonlyArray<{ key: string; seconds: number }>>) | undefined;
  #listCacheStats: (() => { entries: number; rows: number }) | undefined;

  constructor(registry: Registry = new Registry(), options: { processMetrics?: boolean } = {}) {
    this.registry = registry;
    const registers = [registry];
    this.httpRequests = new Counter({
      name: "easel_gateway_http_requests_total",
      help: "HTTP requests answered by the gateway.",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.httpDuration = new Histogram({
      name: "easel_gateway_http_request_duration_seconds",
      help: "Time to answer an HTTP request.",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.graphqlErrors = new Counter({
      name: "easel_gateway_graphql_errors_total",
      help: "GraphQL errors sent to clients, by extensions.code.",
      labelNames: ["code"],
      registers,
    });
    this.canvasRequests = new Counter({
      name: "easel_gateway_canvas_requests_total",
      help: "Requests sent to Canvas, by route template and status (0 = no answer).",
      labelNames: ["method", "route", "status"],
      registers,
    });
    this.canvasDuration = new Histogram({
      name: "easel_gateway_canvas_request_duration_seconds",
      help: "Canvas request latency, by route template.",
      labelNames: ["method", "route"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    this.canvasRequestsPerOperation = new Histogram({
      name: "easel_gateway_canvas_requests_per_operation",
      help: "Canvas requests one GraphQL operation cost.",
      buckets: [0, 1, 2, 3, 5, 10, 20, 50, 100, 250, 1000],
      registers,
    });
    this.tokenRefreshes = new Counter({
      name: "easel_gateway_token_refreshes_total",
      help: "Canvas access tokens the gateway saw replaced by a refresh.",
      labelNames: ["mode"],
      registers,
    });
    this.loaderBatchSize = new Histogram({
      name: "easel_gateway_dataloader_batch_size",
      help: "Keys per DataLoader batch.",
      labelNames: ["loader"],
      buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
      registers,
    });
    this.listCacheLookups = new Counter({
      name: "easel_gateway_list_cache_lookups_total",
      help: "Cross-request list cache lookups, by Canvas list and result (hit, shared: joined a fetch already running, miss, refresh: the client sent Cache-Control: no-cache).",
      labelNames: ["list", "result"],
      registers,
    });
    this.responseCacheLookups = new Counter({
      name: "easel_gateway_response_cache_lookups_total",
      help: "Response cache lookups of GraphQL requests, by result (hit, miss, refresh: the client sent Cache-Control: no-cache).",
      labelNames: ["result"],
      registers,
    });
    this.listCacheEvictions = new Counter({
      name: "easel_gateway_list_cache_evictions_total",
      help: "Lists dropped from the cache to stay within its bounds (lru) or because their TTL passed (expired).",
      labelNames: ["reason"],
      registers,
    });
    const stats = () => this.#listCacheStats?.();
    this.listCacheSize = new Gauge({
      name: "easel_gateway_list_cache_size",
      help: "What the list cache holds now: lists (unit=entries) and Canvas objects in them (unit=rows).",
      labelNames: ["unit"],
      registers,
      collect() {
        const now = stats();
        if (!now) return;
        this.set({ unit: "entries" }, now.entries);
        this.set({ unit: "rows" }, now.rows);
      },
    });
    const expiry = () => this.#tokenExpiry?.();
    this.tokenExpiry = new Gauge({
      name: "easel_gateway_token_expiry_seconds",
      help: "Seconds until the stored Canvas token expires, per store key (negative once expired; absent without a recorded expiry).",
      labelNames: ["key"],
      registers,
      async collect() {
        const now = await expiry();
        if (!now) return;
        this.reset();
        for (const { key, seconds } of now) this.set({ key }, seconds);
      },
    });
    if (options.processMetrics) collectDefaultMetrics({ register: registry, prefix: "easel_gateway_" });
  }

  /** Where the token expiry gauge reads from, at each scrape (the stored records). */
  observeTokenExpiry(read: () => Promise<ReadonlyArray<{ key: string; seconds: number }>>): void {
    this.#tokenExpiry = read;
  }

  /** Where the size gauge reads from (the gateway's list cache). */
  observeListCache(stats: () => { entries: number; rows: number }): void {
    this.#listCacheStats = stats;
  }
}
