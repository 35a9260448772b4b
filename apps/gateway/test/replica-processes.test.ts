import { fileURLToPath } from "node:url";
import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { type NodeProcess, REDIS_URL, requireRedis, startNode, uniqueRedisPrefix } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN_COOKIE, SESSION_COOKIE } from "../src/index.js";
import { startSim } from "./helpers.js";

// Two gateway replicas as separate processes (nothing shared but Redis), one simulator: a login
// begun on one completes on the other, and the session and the cache work on both.
const redisUp = await requireRedis("the multi-process gateway case");
const REPLICA = fileURLToPath(new URL("./fixtures/replica.mjs", import.meta.url));

let sim: CanvasSim;
const children: NodeProcess[] = [];

function cookieValue(response: Response, name: string): string | undefined {
  return response.headers
    .getSetCookie()
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1)
    .split(";")[0];
}

async function viewer(url: string, cookie: string) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", cookie },
    body: JSON.stringify({ query: '{ viewer { id } course(id: "1") { students { totalCount } } }' }),
  });
  return { status: response.status, body: (await response.json()) as { data?: unknown; errors?: unknown } };
}

beforeAll(async () => {
  if (!redisUp) return;
  sim = await startSim({ studentsPerCourse: 10, assignmentsPerCourse: 1 });
  const prefix = uniqueRedisPrefix("rep-proc");
  const options = {
    mode: "user",
    canvasBaseUrl: sim.url,
    oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
    sessionSecret: "a-session-secret-of-at-least-32-characters!",
    storeUrl: `${REDIS_URL}?prefix=${encodeURIComponent(`${prefix}tokens:`)}`,
    fernetKey: generateKey(),
    cache: `${REDIS_URL}/0?prefix=${encodeURIComponent(`${prefix}gw:`)}`,
  };
  for (let i = 0; i < 2; i++) {
    children.push(startNode(REPLICA, [], { env: { REPLICA_OPTIONS: JSON.stringify(options) } }));
  }
});

afterAll(async () => {
  for (const child of children) child.child.kill("SIGTERM");
  await Promise.all(children.map((c) => c.done.catch(() => undefined)));
  await sim?.close();
});

describe.skipIf(!redisUp)("two replica processes behind one Redis", () => {
  it("login on A, callback on B; the session and the shared list cache work on both", async () => {
    const [a, b] = await Promise.all(children.map((c) => c.ready));
    const begin = await fetch(`${a}/auth/login`, { redirect: "manual" });
    expect(begin.status).toBe(302);
    const consent = new URL(begin.headers.get("location")!);
    consent.searchParams.set("auto", "1");
    consent.searchParams.set("unique_id", String(sim.data.staff(1)[0]!.login_id));
    const back = new URL((await fetch(consent, { redirect: "manual" })).headers.get("location")!);
    const done = await fetch(`${b}${back.pathname}${back.search}`, {
      redirect: "manual",
      headers: { cookie: `${LOGIN_COOKIE}=${cookieValue(begin, LOGIN_COOKIE)}` },
    });
    expect(done.status).toBe(302);
    const cookie = `${SESSION_COOKIE}=${cookieValue(done, SESSION_COOKIE)}`;

    const onB = await viewer(b!, cookie);
    expect(onB.status).toBe(200);
    expect(onB.body.errors).toBeUndefined();
    // A serves the same session, and the roster B fetched: only the viewer lookup reaches Canvas.
    sim.resetStats();
    const onA = await viewer(a!, cookie);
    expect(onA.status).toBe(200);
    expect(onA.body).toEqual(onB.body);
    expect(sim.stats().requests.byRoute).toEqual({ "GET /api/v1/users/:id": 1 });

    const logout = await fetch(`${a}/auth/logout`, { method: "POST", headers: { cookie } });
    expect(logout.status).toBe(200);
    expect((await viewer(b!, cookie)).status).toBe(401);
  });
});
