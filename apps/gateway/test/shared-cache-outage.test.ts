import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { type PrivateRedis, startPrivateRedis } from "@easel/test-utils";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { LOGIN_COOKIE, type RunningGateway, SESSION_COOKIE, startGateway } from "../src/index.js";
import { API_KEY, createGatewayLogger, LogCapture, OUTSIDE_QUERY, startSim } from "./helpers.js";

// The replicas' Redis (EASEL_GATEWAY_CACHE) killed and restarted under running gateways: cached
// reads go to Canvas (one warning, not one per request), session-dependent requests answer a
// coded 503, /readyz fails naming the check, and all of it recovers by itself when Redis returns.
const FERNET_KEY = generateKey();
const SESSION_SECRET = "a-session-secret-of-at-least-32-characters!";

let sim: CanvasSim;
let redis: PrivateRedis;
let service: RunningGateway;
let user: RunningGateway;
const serviceLogs = new LogCapture();

async function post(url: string, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY, ...headers },
    body: JSON.stringify({ query }),
  });
  const text = await response.text();
  return {
    status: response.status,
    text,
    body: JSON.parse(text) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    },
  };
}

async function readyz(url: string): Promise<{ status: number; body: { checks: Record<string, string> } }> {
  const response = await fetch(`${url}/readyz`);
  return { status: response.status, body: (await response.json()) as { checks: Record<string, string> } };
}

function cookieValue(response: Response, name: string): string | undefined {
  return response.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1)
    .split(";")[0];
}

async function login(loginId: string): Promise<{ status: number; cookie?: string }> {
  const begin = await fetch(`${user.url}/auth/login`, { redirect: "manual" });
  if (begin.status !== 302) return { status: begin.status };
  const consent = new URL(begin.headers.get("location")!);
  consent.searchParams.set("auto", "1");
  consent.searchParams.set("unique_id", loginId);
  const back = new URL((await fetch(consent, { redirect: "manual" })).headers.get("location")!);
  const done = await fetch(`${user.url}${back.pathname}${back.search}`, {
    redirect: "manual",
    headers: { cookie: `${LOGIN_COOKIE}=${cookieValue(begin, LOGIN_COOKIE)}` },
  });
  return { status: done.status, cookie: `${SESSION_COOKIE}=${cookieValue(done, SESSION_COOKIE)}` };
}

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 8, assignmentsPerCourse: 2 });
  redis = await startPrivateRedis();
  const cache = `${redis.url}/0?prefix=outage:`;
  service = await startGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY],
    logger: createGatewayLogger({ level: "info" }, serviceLogs),
    canvasClient: { retry: { retries: 0, rateLimitRetries: 0, minDelayMs: 1, maxDelayMs: 5 } },
    readinessCacheMs: 0,
    cache,
    cacheFernetKeys: FERNET_KEY,
    port: 0,
  });
  user = await startGateway({
    mode: "user",
    canvasBaseUrl: sim.url,
    oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
    store: new MemoryStore(),
    sessionSecret: SESSION_SECRET,
    logger: false,
    readinessCacheMs: 0,
    cache,
    cacheFernetKeys: FERNET_KEY,
    port: 0,
  });
});

afterAll(async () => {
  await service?.close();
  await user?.close();
  await redis?.kill();
  await sim?.close();
});

describe("the shared cache's Redis goes down and comes back", () => {
  it("reads degrade to Canvas, sessions answer 503, /readyz fails, and everything recovers", async () => {
    const teacher = String(sim.data.staff(1)[0]!.login_id);
    const first = await post(service.url, OUTSIDE_QUERY);
    expect(first.status, first.text).toBe(200);
    sim.resetStats();
    expect((await post(service.url, OUTSIDE_QUERY)).body).toEqual(first.body);
    expect(sim.stats().requests.total).toBe(0); // served from Redis
    const session = await login(teacher);
    expect(session.status).toBe(302);
    expect((await post(user.url, "{ viewer { id } }", { cookie: session.cookie! })).status).toBe(200);
    expect((await readyz(service.url)).status).toBe(200);

    await redis.kill();

    // Cached reads: answered from Canvas, same data, every time.
    for (let i = 0; i < 3; i++) {
      sim.resetStats();
      const degraded = await post(service.url, OUTSIDE_QUERY);
      expect(degraded.status, degraded.text).toBe(200);
      expect(degraded.body).toEqual(first.body);
      expect(sim.stats().requests.total).toBeGreaterThan(0);
    }
    const warnings = serviceLogs.lines.filter((line) => line.includes("shared cache unavailable"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).not.toContain(FERNET_KEY);

    // Sessions: a coded 503 (HTTP and extensions.code), not a 401 that would loop through login.
    const noSession = await post(user.url, "{ viewer { id } }", { cookie: session.cookie! });
    expect(noSession.status).toBe(503);
    expect(noSession.body.errors?.[0]?.extensions?.code).toBe("SESSION_STORE_UNAVAILABLE");
    expect(noSession.text).not.toMatch(/\bat .+\.(?:js|ts):\d+/);
    expect((await login(teacher)).status).toBe(503);

    // Not ready, and the body names the failing check.
    for (const replica of [service, user]) {
      const probe = await readyz(replica.url);
      expect(probe.status).toBe(503);
      expect(probe.body.checks.sharedCache).toBe("failing");
    }

    // Back (empty: nothing persisted). The client reconnects by itself.
    await redis.restart();
    await vi.waitFor(async () => expect((await readyz(service.url)).status).toBe(200), {
      timeout: 10_000,
      interval: 100,
    });
    await vi.waitFor(async () => expect((await readyz(user.url)).status).toBe(200), {
      timeout: 10_000,
      interval: 100,
    });
    expect((await post(service.url, OUTSIDE_QUERY)).body).toEqual(first.body);
    sim.resetStats();
    expect((await post(service.url, OUTSIDE_QUERY)).body).toEqual(first.body);
    expect(sim.stats().requests.total).toBe(0); // the shared cache works again
    expect(serviceLogs.lines.filter((line) => line.includes("shared cache reachable again"))).toHaveLength(1);

    // The restarted Redis lost the session: a clean 401, and a new login works.
    expect((await post(user.url, "{ viewer { id } }", { cookie: session.cookie! })).status).toBe(401);
    const again = await login(teacher);
    expect(again.status).toBe(302);
    expect((await post(user.url, "{ viewer { id } }", { cookie: again.cookie! })).status).toBe(200);
  });
});
