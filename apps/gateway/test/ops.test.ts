import { developerToken, oauth } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { MemoryStore, type TokenStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway, startGateway } from "../src/index.js";
import {
  API_KEY,
  createGatewayLogger,
  gql,
  LogCapture,
  OUTSIDE_QUERY,
  serviceGateway,
  startSim,
} from "./helpers.js";

let sim: CanvasSim;
let store: MemoryStore;
let gateway: Gateway;
const logs = new LogCapture();
const others: Gateway[] = [];

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 12, assignmentsPerCourse: 3 });
  store = new MemoryStore();
  const strategy = developerToken({ baseUrl: sim.url, dangerouslyAllowInsecureHttp: true });
  await store.set("default", strategy.recordFor(sim.developerToken));
  gateway = serviceGateway(sim, {
    auth: { strategy, store, key: "default" },
    logger: createGatewayLogger({ level: "debug" }, logs),
    readinessCacheMs: 0,
  });
});

afterAll(async () => {
  await Promise.all([gateway, ...others].map((g) => g.close()));
  await sim?.close();
});

const get = (on: Gateway, path: string, headers: Record<string, string> = {}) =>
  on.fetch(`http://gateway.test${path}`, { headers });

describe("probes", () => {
  it("/healthz: the process answers", async () => {
    const response = await get(gateway, "/healthz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ok" });
  });

  it("/readyz: store readable and Canvas reachable", async () => {
    const response = await get(gateway, "/readyz");
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: "ready", checks: { canvas: "ok", store: "ok" } });
  });

  it("/readyz: 503 naming the failing check (Canvas down, store broken), without details", async () => {
    const brokenStore: TokenStore = {
      get: async () => {
        throw new Error("redis://:hunter2@10.0.0.1 refused");
      },
      set: async () => {},
      delete: async () => false,
      withLock: (_key, fn) => fn(),
      close: async () => {},
    };
    const down = createGateway({
      mode: "service",
      canvasBaseUrl: "http://127.0.0.1:9",
      auth: sim.developerToken,
      apiKeys: [API_KEY],
      store: brokenStore,
      logger: false,
      readinessTimeoutMs: 500,
      canvasClient: { retry: { retries: 0 } },
    });
    others.push(down);
    const response = await get(down, "/readyz");
    expect(response.status).toBe(503);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      status: "not ready",
      checks: { canvas: "failing", store: "failing" },
    });
    expect(text).not.toMatch(/hunter2|127\.0\.0\.1|refused/);
  });

  it("/readyz caches its result so probes do not become Canvas requests", async () => {
    const cached = serviceGateway(sim, { readinessCacheMs: 60_000 });
    others.push(cached);
    sim.resetStats();
    for (let i = 0; i < 5; i++) expect((await get(cached, "/readyz")).status).toBe(200);
    expect(sim.stats().requests.byRoute["GET /api/v1/users/:id"]).toBe(1);
  });
});

describe("/metrics", () => {
  it("exposes HTTP, Canvas (by route template and status), loader batch and refresh metrics", async () => {
    expect((await gql(gateway, OUTSIDE_QUERY)).status).toBe(200);
    expect((await gql(gateway, '{ course(id: "999") { id } }')).status).toBe(404);
    const response = await get(gateway, "/metrics");
    expect(response.headers.get("content-type")).toMatch(/text\/plain/);
    const text = await response.text();
    expect(text).toMatch(
      /easel_gateway_http_requests_total\{method="POST",route="\/graphql",status="200"\} \d+/,
    );
    expect(text).toMatch(
      /easel_gateway_http_request_duration_seconds_bucket\{le="0.1",method="POST",route="\/graphql"\}/,
    );
    expect(text).toMatch(
      /easel_gateway_canvas_requests_total\{method="GET",route="\/api\/v1\/courses\/:id\/enrollments",status="200"\} 1/,
    );
    expect(text).toMatch(
      /easel_gateway_canvas_requests_total\{method="GET",route="\/api\/v1\/courses\/:id",status="404"\} 1/,
    );
    expect(text).toMatch(/easel_gateway_dataloader_batch_size_sum\{loader="summary"\} 12/);
    expect(text).toMatch(/easel_gateway_canvas_requests_per_operation_count \d+/);
    expect(text).toMatch(/easel_gateway_graphql_errors_total\{code="NOT_FOUND"\} 1/);
    // Asked again: the answer from the response cache, the 404 asked of Canvas again (failures
    // are not stored); the same lists under another document: from the list cache.
    expect((await gql(gateway, OUTSIDE_QUERY)).status).toBe(200);
    expect((await gql(gateway, '{ course(id: "999") { id } }')).status).toBe(404);
    expect((await gql(gateway, `${OUTSIDE_QUERY} `)).status).toBe(200);
    const again = await (await get(gateway, "/metrics")).text();
    expect(again).toMatch(/easel_gateway_response_cache_lookups_total\{result="hit"\} 1/);
    expect(again).toMatch(/easel_gateway_response_cache_lookups_total\{result="miss"\} 4/);
    expect(again).toMatch(/easel_gateway_list_cache_lookups_total\{list="roster",result="hit"\} 1/);
    expect(again).toMatch(/easel_gateway_list_cache_lookups_total\{list="course",result="miss"\} 3/);
    expect(again).toMatch(/easel_gateway_list_cache_lookups_total\{list="course",result="hit"\} 1/);
    expect(text).toContain("easel_gateway_token_refreshes_total");
    // The list cache: the course's roster was fetched (miss); the 404 course was not stored.
    expect(text).toMatch(/easel_gateway_list_cache_lookups_total\{list="roster",result="miss"\} 1/);
    expect(text).toMatch(/easel_gateway_list_cache_lookups_total\{list="course",result="miss"\} 2/);
    expect(text).toMatch(/easel_gateway_list_cache_size\{unit="entries"\} 3/);
    // Label values are templates: no raw ids, no query strings.
    expect(text).not.toMatch(/courses\/1\//);
  });

  it("counts token refreshes of the credential the gateway manages", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: sim.data.adminUserId, expiresIn: 60 });
    const oauthStore = new MemoryStore();
    await oauthStore.set("svc", {
      access_token: minted.access_token,
      token_type: "Bearer",
      refresh_token: minted.refresh_token,
      // Issued an hour ago, 60 s left: within the refresh buffer, so the first request refreshes it.
      expires_in: 3600,
      expires_at: Date.now() / 1000 + 60,
    });
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      dangerouslyAllowInsecureHttp: true,
    });
    const refreshing = serviceGateway(sim, { auth: { strategy, store: oauthStore, key: "svc" } });
    others.push(refreshing);
    expect((await gql(refreshing, "{ viewer { id } }")).status).toBe(200);
    const text = await (await get(refreshing, "/metrics")).text();
    expect(text).toMatch(/easel_gateway_token_refreshes_total\{mode="service"\} 1/);
    expect((await oauthStore.get("svc"))!.access_token).not.toBe(minted.access_token);
  });
});

describe("request ids and structured logs", () => {
  it("keeps a well-formed incoming x-request-id, echoes it, and tags every log line of the request with it", async () => {
    // no-cache: the lists were cached by an earlier test; this one needs its Canvas requests.
    const result = await gql(gateway, OUTSIDE_QUERY, {
      headers: { "x-request-id": "req-ops-42", "cache-control": "no-cache" },
    });
    expect(result.headers.get("x-request-id")).toBe("req-ops-42");
    const lines = logs.lines
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((l) => l.requestId === "req-ops-42");
    const access = lines.find((l) => l.msg === "request");
    expect(access).toMatchObject({ method: "POST", path: "/graphql", status: 200, canvasRequests: 3 });
    expect(lines.filter((l) => l.msg === "Canvas request")).toHaveLength(3);
  });

  it("replaces a malformed x-request-id with a fresh one", async () => {
    const result = await gql(gateway, "{ viewer { id } }", {
      headers: { "x-request-id": "bad id\twith spaces" },
    });
    expect(result.headers.get("x-request-id")).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("graceful shutdown", () => {
  it("stops accepting, lets the in-flight request finish, then closes", async () => {
    const running = await startGateway({
      mode: "service",
      canvasBaseUrl: sim.url,
      auth: sim.developerToken,
      apiKeys: [API_KEY],
      logger: false,
      port: 0,
    });
    sim.faults.add("slow=400:x1@GET /api/v1/users/self");
    const inFlight = fetch(`${running.url}/graphql`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": API_KEY },
      body: JSON.stringify({ query: "{ viewer { id } }" }),
    });
    await new Promise((resolve) => setTimeout(resolve, 150));
    const closed = running.close();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(((await response.json()) as { data: { viewer: { id: string } } }).data.viewer.id).toBe(
      String(sim.data.adminUserId),
    );
    await closed;
    await expect(fetch(`${running.url}/healthz`)).rejects.toThrow();
  });
});
