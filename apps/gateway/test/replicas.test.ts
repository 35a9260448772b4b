import { type CanvasSim, tokenFingerprint } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore, type RedisTokenStore } from "@easel/store-redis";
import { REDIS_URL, requireRedis, uniqueRedisPrefix } from "@easel/test-utils";
import { createClient } from "@keyv/redis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOGIN_COOKIE, type RunningGateway, SESSION_COOKIE, startGateway } from "../src/index.js";
import { API_KEY, OUTSIDE_QUERY, startSim } from "./helpers.js";

// N gateways (each with its own memory) over real HTTP, one simulator, one Redis: they must
// behave as one gateway. Exact Canvas request counts come from the simulator's own stats.
const redisUp = await requireRedis("the multi-replica gateway cases");

const SESSION_SECRET = "a-session-secret-of-at-least-32-characters!";
const FERNET_KEY = generateKey();
const running: RunningGateway[] = [];

function cacheUrl(prefix: string): string {
  return `${REDIS_URL}/0?prefix=${encodeURIComponent(prefix)}`;
}

async function serviceReplica(sim: CanvasSim, cache: string | undefined): Promise<RunningGateway> {
  const replica = await startGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY],
    logger: false,
    canvasClient: { retry: { retries: 0, rateLimitRetries: 0, minDelayMs: 1, maxDelayMs: 5 } },
    cache,
    cacheFernetKeys: FERNET_KEY,
    port: 0,
  });
  running.push(replica);
  return replica;
}

async function post(url: string, query: string, headers: Record<string, string> = {}) {
  const response = await fetch(`${url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY, ...headers },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; extensions?: { code?: string } }>;
  };
  return { status: response.status, body };
}

function setCookies(response: Response): string[] {
  return response.headers.getSetCookie();
}

function cookieValue(cookies: string[], name: string): string | undefined {
  return cookies
    .find((c) => c.startsWith(`${name}=`))
    ?.slice(name.length + 1)
    .split(";")[0];
}

/** Lookups answered from the cache (stored or joined) on one replica, from its metrics. */
async function cacheAnswers(replica: RunningGateway): Promise<number> {
  const { values } = await replica.gateway.metrics.listCacheLookups.get();
  return values
    .filter((v) => v.labels.result === "hit" || v.labels.result === "shared")
    .reduce((sum, v) => sum + v.value, 0);
}

afterAll(async () => {
  await Promise.all(running.map((r) => r.close()));
});

describe.skipIf(!redisUp)("service mode: replicas sharing one Redis make the Canvas requests of one", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 3, studentsPerCourse: 30, assignmentsPerCourse: 4 });
  });
  afterAll(async () => {
    await sim?.close();
  });

  const firstStudent = () => String(sim.data.studentIds(2)[0]);
  const workload = () => [
    OUTSIDE_QUERY,
    OUTSIDE_QUERY,
    "{ courses(first: 3) { nodes { id name } } }",
    '{ course(id: "2") { students(first: 10) { nodes { id grades { currentScore } } } } }',
    `{ course(id: "2") { student(id: "${firstStudent()}") { engagement { pageViews } } } }`,
    '{ course(id: "3") { students(first: 5) { nodes { id attendance { lastAttendedAt } } } } }',
    '{ course(id: "3") { assignments(first: 5) { totalCount } } }',
    OUTSIDE_QUERY,
    "{ courses(first: 3) { nodes { id name } } }",
  ];

  /** Runs the workload through `replicas` in round robin; returns Canvas's request counts by route. */
  async function run(replicas: RunningGateway[]): Promise<Record<string, number>> {
    sim.resetStats();
    let next = 0;
    for (const query of workload()) {
      const replica = replicas[next++ % replicas.length]!;
      const result = await post(replica.url, query);
      expect(result.body.errors, query).toBeUndefined();
      expect(result.status).toBe(200);
    }
    return { ...sim.stats().requests.byRoute };
  }

  it("3 replicas under round robin make exactly the requests of 1 replica", async () => {
    const one = await run([await serviceReplica(sim, cacheUrl(uniqueRedisPrefix("rep-one")))]);
    const prefix = cacheUrl(uniqueRedisPrefix("rep-three"));
    const three = await run([
      await serviceReplica(sim, prefix),
      await serviceReplica(sim, prefix),
      await serviceReplica(sim, prefix),
    ]);
    expect(three).toEqual(one);
    // And the one replica's cache did work: the repeated queries cost Canvas nothing.
    const total = Object.values(one).reduce((a, b) => a + b, 0);
    sim.resetStats();
    expect(total).toBeGreaterThan(0);
  });

  it("without a shared cache, 3 replicas cost more than 1 (what the setting fixes)", async () => {
    const one = await run([await serviceReplica(sim, undefined)]);
    const three = await run([
      await serviceReplica(sim, undefined),
      await serviceReplica(sim, undefined),
      await serviceReplica(sim, undefined),
    ]);
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    expect(sum(three)).toBeGreaterThan(sum(one));
  });

  it("the same query at once on 3 replicas walks each Canvas list once (single flight across replicas)", async () => {
    const prefix = cacheUrl(uniqueRedisPrefix("rep-flight"));
    const alone = await serviceReplica(sim, cacheUrl(uniqueRedisPrefix("rep-alone")));
    sim.resetStats();
    expect((await post(alone.url, OUTSIDE_QUERY)).status).toBe(200);
    const once = { ...sim.stats().requests.byRoute };

    const replicas = [
      await serviceReplica(sim, prefix),
      await serviceReplica(sim, prefix),
      await serviceReplica(sim, prefix),
    ];
    sim.resetStats();
    const results = await Promise.all(replicas.map((r) => post(r.url, OUTSIDE_QUERY)));
    for (const result of results) expect(result.body.errors).toBeUndefined();
    expect(results[1]!.body).toEqual(results[0]!.body);
    expect(results[2]!.body).toEqual(results[0]!.body);
    expect(sim.stats().requests.byRoute).toEqual(once);
  });

  it("a query answered on one replica is answered on another from the shared response cache", async () => {
    const prefix = cacheUrl(uniqueRedisPrefix("rep-responses"));
    const [a, b] = [await serviceReplica(sim, prefix), await serviceReplica(sim, prefix)];
    const first = await post(a.url, OUTSIDE_QUERY);
    expect(first.body.errors).toBeUndefined();
    sim.resetStats();
    const again = await post(b.url, OUTSIDE_QUERY);
    expect(again.body).toEqual(first.body);
    expect(sim.stats().requests.total).toBe(0);
    const { values } = await b.gateway.metrics.responseCacheLookups.get();
    expect(values.find((v) => v.labels.result === "hit")?.value).toBe(1);
    // B answered from the stored bytes: its list cache was never asked.
    expect(await cacheAnswers(b)).toBe(0);
  });

  it("a mutation on one replica is seen at once on the others", async () => {
    const prefix = cacheUrl(uniqueRedisPrefix("rep-mutation"));
    const [a, b] = [await serviceReplica(sim, prefix), await serviceReplica(sim, prefix)];
    const student = String(sim.data.studentIds(1)[1]);
    const read = `{ course(id: "1") { student(id: "${student}") { attendance { lastAttendedAt } } } }`;
    const before = await post(b.url, read);
    expect(before.body.errors).toBeUndefined();
    const write = await post(
      a.url,
      `mutation { setLastAttended(courseId: "1", studentId: "${student}", date: "2026-11-02T08:00:00Z") { lastAttendedAt } }`,
    );
    expect(write.body.errors).toBeUndefined();
    const after = await post(b.url, read);
    const seen = (after.body.data as { course: { student: { attendance: { lastAttendedAt: string } } } })
      .course.student.attendance.lastAttendedAt;
    expect(Date.parse(seen)).toBe(Date.parse("2026-11-02T08:00:00Z"));
  });
});

describe.skipIf(!redisUp)("user mode: two replicas, one Redis", () => {
  let sim: CanvasSim;
  let store: RedisTokenStore;
  let a: RunningGateway;
  let b: RunningGateway;
  let teacher: string;
  let student: { id: number; login: string };
  let gwPrefix: string;

  async function userReplica(prefix: string): Promise<RunningGateway> {
    const replica = await startGateway({
      mode: "user",
      canvasBaseUrl: sim.url,
      oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
      store,
      sessionSecret: SESSION_SECRET,
      logger: false,
      cache: cacheUrl(prefix),
      cacheFernetKeys: FERNET_KEY,
      port: 0,
    });
    running.push(replica);
    return replica;
  }

  /** Begins the login on `start`, approves it at the simulator, completes it on `finish`. */
  async function login(loginId: string, start: RunningGateway, finish: RunningGateway): Promise<string> {
    const begin = await fetch(`${start.url}/auth/login`, { redirect: "manual" });
    expect(begin.status).toBe(302);
    const binding = cookieValue(setCookies(begin), LOGIN_COOKIE)!;
    const consent = new URL(begin.headers.get("location")!);
    consent.searchParams.set("auto", "1");
    consent.searchParams.set("unique_id", loginId);
    const approved = await fetch(consent, { redirect: "manual" });
    expect(approved.status).toBe(302);
    // Canvas sends the browser back to the redirect URI it was given: the load balancer's
    // address, here replica `finish`.
    const back = new URL(approved.headers.get("location")!);
    const done = await fetch(`${finish.url}${back.pathname}${back.search}`, {
      redirect: "manual",
      headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
    });
    expect(done.status).toBe(302);
    return `${SESSION_COOKIE}=${cookieValue(setCookies(done), SESSION_COOKIE)}`;
  }

  beforeAll(async () => {
    sim = await startSim({ studentsPerCourse: 12, assignmentsPerCourse: 2 });
    const prefix = uniqueRedisPrefix("rep-user");
    store = await createTokenStore(`${REDIS_URL}?prefix=${encodeURIComponent(`${prefix}tokens:`)}`, {
      fernetKeys: FERNET_KEY,
    });
    gwPrefix = `${prefix}gw:`;
    a = await userReplica(gwPrefix);
    b = await userReplica(gwPrefix);
    teacher = String(sim.data.staff(1)[0]!.login_id);
    const id = sim.data.studentIds(1)[0]!;
    student = { id, login: String(sim.data.user(id)!.login_id) };
  });
  afterAll(async () => {
    await store?.close();
    await sim?.close();
  });

  const ROSTER =
    '{ viewer { id } course(id: "1") { students { totalCount nodes { id grades { currentScore } } } } }';

  it("a login begun on A completes on B; the session works on both; logout on A ends it on B", async () => {
    const cookie = await login(teacher, a, b);
    for (const replica of [a, b, a]) {
      const result = await post(replica.url, "{ viewer { id } }", { cookie });
      expect(result.status).toBe(200);
      expect(result.body.errors).toBeUndefined();
    }
    const logout = await fetch(`${a.url}/auth/logout`, { method: "POST", headers: { cookie } });
    expect(logout.status).toBe(200);
    const after = await post(b.url, "{ viewer { id } }", { cookie });
    expect(after.status).toBe(401);
    expect(after.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
  });

  it("a login state is taken once: replaying the callback on the other replica fails", async () => {
    const begin = await fetch(`${a.url}/auth/login`, { redirect: "manual" });
    const binding = cookieValue(setCookies(begin), LOGIN_COOKIE)!;
    const consent = new URL(begin.headers.get("location")!);
    consent.searchParams.set("auto", "1");
    consent.searchParams.set("unique_id", teacher);
    const back = new URL((await fetch(consent, { redirect: "manual" })).headers.get("location")!);
    const headers = { cookie: `${LOGIN_COOKIE}=${binding}` };
    const first = await fetch(`${b.url}${back.pathname}${back.search}`, { redirect: "manual", headers });
    expect(first.status).toBe(302);
    const replay = await fetch(`${a.url}${back.pathname}${back.search}`, { redirect: "manual", headers });
    expect(replay.status).toBe(400);
  });

  it("two users on two replicas: 0 cross-user cache hits", async () => {
    const teacherCookie = await login(teacher, a, a);
    const studentCookie = await login(student.login, b, b);
    const studentToken = (await store.get(`user:${student.id}`))!.access_token;

    // The teacher fills the shared cache with course 1's roster (through A).
    const warm = await post(a.url, ROSTER, { cookie: teacherCookie });
    expect(
      (warm.body.data as { course: { students: { totalCount: number } } }).course.students.totalCount,
    ).toBe(12);

    // The student asks B for the same course: nothing of the teacher's is read.
    const answersBefore = await cacheAnswers(b);
    sim.resetStats();
    const asStudent = await post(b.url, ROSTER, { cookie: studentCookie });
    const seen = (
      asStudent.body.data as { course: { students: { totalCount: number; nodes: Array<{ id: string }> } } }
    ).course.students;
    expect(seen.totalCount).toBe(1);
    expect(seen.nodes.map((n) => n.id)).toEqual([String(student.id)]);
    expect(await cacheAnswers(b)).toBe(answersBefore);
    expect(Object.keys(sim.stats().requests.byToken)).toEqual([tokenFingerprint(studentToken)]);

    // The teacher's own lists, stored through A, answer the teacher on B: no Canvas request.
    sim.resetStats();
    const again = await post(b.url, ROSTER, { cookie: teacherCookie });
    expect(again.body).toEqual(warm.body);
    expect(sim.stats().requests.total).toBe(1); // users/self for `viewer`, never cached
    expect(await cacheAnswers(b)).toBeGreaterThan(answersBefore);
  });

  it("Redis holds no plaintext: no names, tokens, user ids or session ids in keys or values", async () => {
    const cookie = await login(student.login, a, b);
    expect((await post(b.url, ROSTER, { cookie })).status).toBe(200);
    const record = (await store.get(`user:${student.id}`))!;
    const name = String(sim.data.user(student.id)!.name);
    const sessionId = cookie.split("=")[1]!.split(".")[0]!;
    const client = createClient({ url: REDIS_URL });
    await client.connect();
    try {
      const keys: string[] = [];
      for await (const batch of client.scanIterator({ MATCH: `${gwPrefix}*`, COUNT: 1000 }))
        keys.push(...batch);
      expect(keys.some((k) => k.includes(":session:"))).toBe(true);
      expect(keys.some((k) => k.includes(":list:"))).toBe(true);
      for (const key of keys) {
        const own = key.slice(gwPrefix.length); // the test's prefix has digits of its own
        // Keys are words and digests joined by ":"; a digest may hold the id's digits by chance
        // (a 43-character hash holds "11" about once in a hundred): look in everything but digests.
        const words = own
          .split(":")
          .filter((part) => !/^[\w-]{20,}$/.test(part))
          .join(":");
        expect(words, key).not.toContain(String(student.id));
        expect(own).not.toContain(sessionId);
        const value = await client.get(key);
        if (value === null || /^\d+$/.test(value)) continue; // generation counters
        expect(value.startsWith("gAAAAA"), key).toBe(true); // a Fernet token
        for (const secret of [name, record.access_token, String(record.refresh_token), sessionId]) {
          expect(value).not.toContain(secret);
        }
      }
    } finally {
      await client.close();
    }
  });
});
