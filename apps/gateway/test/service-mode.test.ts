import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { createGateway, type Gateway } from "../src/index.js";
import { API_KEY, serviceGateway, startSim } from "./helpers.js";

const SECOND_KEY = "second-key-fedcba9876543210";
const ALLOWED_ORIGIN = "https://app.example.edu";

let sim: CanvasSim;
let gateway: Gateway;

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 5, assignmentsPerCourse: 2 });
  gateway = serviceGateway(sim, {
    apiKeys: [API_KEY, SECOND_KEY],
    corsOrigins: [ALLOWED_ORIGIN],
    graphiql: { defaultQuery: "{ viewer { name } }" },
  });
});
beforeEach(() => sim.resetStats());
afterAll(async () => {
  await gateway?.close();
  await sim?.close();
});

const VIEWER = "{ viewer { id name } }";

async function post(headers: Record<string, string | undefined>, origin?: string) {
  return gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      ...(origin ? { origin } : {}),
      ...(Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== undefined)) as Record<
        string,
        string
      >),
    },
    body: JSON.stringify({ query: VIEWER }),
  });
}

describe("service mode: API keys", () => {
  it("no key → 401 with a JSON GraphQL error, and Canvas is never asked", async () => {
    const response = await post({});
    expect(response.status).toBe(401);
    expect(response.headers.get("www-authenticate")).toMatch(/^Bearer/);
    const body = (await response.json()) as {
      errors: Array<{ message: string; extensions: { code: string } }>;
    };
    expect(body.errors[0]!.extensions.code).toBe("UNAUTHENTICATED");
    expect(sim.stats().requests.total).toBe(0);
  });

  it("a wrong key → 401 (Bearer or x-api-key alike)", async () => {
    for (const headers of [
      { authorization: "Bearer not-a-valid-key-000000" },
      { "x-api-key": "not-a-valid-key-000000" },
      { authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString("base64")}` },
      { "x-api-key": `${API_KEY}x` },
    ]) {
      const response = await post(headers);
      expect(response.status, JSON.stringify(Object.keys(headers))).toBe(401);
      expect(await response.text()).not.toContain(API_KEY);
    }
    expect(sim.stats().requests.total).toBe(0);
  });

  it("a good key → data, in either header, for each configured key", async () => {
    for (const headers of [
      { authorization: `Bearer ${API_KEY}` },
      { "x-api-key": API_KEY },
      { "x-api-key": SECOND_KEY },
    ]) {
      const response = await post(headers);
      expect(response.status).toBe(200);
      const body = (await response.json()) as { data: { viewer: { id: string } } };
      expect(body.data.viewer.id).toBe(String(sim.data.adminUserId));
    }
  });

  it("probes and the GraphiQL page need no key; the page holds no data", async () => {
    expect((await gateway.fetch("http://gateway.test/healthz")).status).toBe(200);
    const page = await gateway.fetch("http://gateway.test/graphql", { headers: { accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    const html = await page.text();
    expect(html).toContain("YogaGraphiQL");
    expect(html).not.toContain(API_KEY);
    expect(sim.stats().requests.total).toBe(0);
  });

  it("refuses options that would be unsafe: no keys, short keys", () => {
    const base = {
      mode: "service" as const,
      canvasBaseUrl: sim.url,
      auth: sim.developerToken,
      logger: false as const,
    };
    expect(() => createGateway({ ...base, apiKeys: [] })).toThrow(/apiKeys/);
    expect(() => createGateway({ ...base, apiKeys: ["short"] })).toThrow(/at least 16/);
    try {
      createGateway({ ...base, apiKeys: ["short"] });
    } catch (error) {
      expect((error as { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
      expect(String(error)).not.toContain(sim.developerToken);
    }
  });
});

describe("CORS allowlist", () => {
  it("an allowed origin gets CORS headers; others get none", async () => {
    const allowed = await post({ "x-api-key": API_KEY }, ALLOWED_ORIGIN);
    expect(allowed.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    // Service mode: no cookies, so no credentials either.
    expect(allowed.headers.get("access-control-allow-credentials")).toBeNull();
    const other = await post({ "x-api-key": API_KEY }, "https://evil.example.com");
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
  });

  it("preflight: allowed origin may send the API key header; others learn nothing", async () => {
    const preflight = (origin: string) =>
      gateway.fetch("http://gateway.test/graphql", {
        method: "OPTIONS",
        headers: {
          origin,
          "access-control-request-method": "POST",
          "access-control-request-headers": "x-api-key",
        },
      });
    const ok = await preflight(ALLOWED_ORIGIN);
    expect(ok.status).toBe(204);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED_ORIGIN);
    expect(ok.headers.get("access-control-allow-headers")).toContain("x-api-key");
    const denied = await preflight("https://evil.example.com");
    expect(denied.headers.get("access-control-allow-origin")).toBeNull();
  });
});
