import { type CanvasSim, tokenFingerprint } from "@easel/canvas-sim";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway, LOGIN_COOKIE, SESSION_COOKIE } from "../src/index.js";
import { startSim } from "./helpers.js";

const SESSION_SECRET = "a-session-secret-of-at-least-32-characters!";
/** Never dialled: yoga.fetch serves it in-process; the simulator only checks the redirect host. */
const HTTP_BASE = "http://127.0.0.1:4999";
const HTTPS_BASE = "https://127.0.0.1:4999";

let sim: CanvasSim;
let store: MemoryStore;
let gateway: Gateway;
let teacher: { id: number; login: string };
let student: { id: number; login: string };
let otherCourse: number;

function setCookies(response: Response): string[] {
  const headers = response.headers as Headers & { getSetCookie?: () => string[] };
  return headers.getSetCookie?.() ?? response.headers.get("set-cookie")?.split(/, (?=[a-z_]+=)/i) ?? [];
}

function cookieValue(cookies: string[], name: string): string | undefined {
  const line = cookies.find((c) => c.startsWith(`${name}=`));
  return line?.slice(name.length + 1).split(";")[0];
}

/** Logs in through the simulator's consent step (auto-approved); returns the session cookie line. */
async function login(
  loginId: string,
  base = HTTP_BASE,
  on: Gateway = gateway,
): Promise<{ cookie: string; setCookie: string }> {
  const start = await on.fetch(`${base}/auth/login`, { redirect: "manual" });
  expect(start.status).toBe(302);
  const binding = cookieValue(setCookies(start), LOGIN_COOKIE)!;
  const consent = new URL(start.headers.get("location")!);
  expect(consent.origin + consent.pathname).toBe(`${sim.url}/login/oauth2/auth`);
  expect(consent.searchParams.get("code_challenge_method")).toBe("S256");
  expect(consent.searchParams.get("state")).toBeTruthy();
  consent.searchParams.set("auto", "1");
  consent.searchParams.set("unique_id", loginId);
  const approved = await fetch(consent, { redirect: "manual" });
  expect(approved.status).toBe(302);
  const callback = approved.headers.get("location")!;
  expect(callback.startsWith(`${base}/auth/callback?`)).toBe(true);
  const done = await on.fetch(callback, {
    redirect: "manual",
    headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
  });
  expect(done.status).toBe(302);
  expect(done.headers.get("location")).toBe("/graphql");
  const setCookie = setCookies(done).find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
  return { cookie: `${SESSION_COOKIE}=${cookieValue([setCookie], SESSION_COOKIE)}`, setCookie };
}

async function query(cookie: string | undefined, document: string, headers: Record<string, string> = {}) {
  const response = await gateway.fetch(`${HTTP_BASE}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(cookie ? { cookie } : {}), ...headers },
    body: JSON.stringify({ query: document }),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: Record<string, unknown> | null;
      errors?: Array<{ path?: unknown[]; extensions?: { code?: string } }>;
    },
  };
}

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 20, assignmentsPerCourse: 3 });
  store = new MemoryStore();
  gateway = createGateway({
    mode: "user",
    canvasBaseUrl: sim.url,
    oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
    store,
    sessionSecret: SESSION_SECRET,
    logger: false,
    graphiql: true,
  });
  const staff = sim.data.staff(1)[0]!;
  teacher = { id: staff.id, login: String(staff.login_id) };
  // A student active in course 1 and absent from some other course.
  const active = sim.data.enrollments(1, { type: ["StudentEnrollment"], state: ["active"] });
  for (const enrollment of active) {
    const id = enrollment.user_id as number;
    const other = [2, 3].find((c) => !sim.data.studentIds(c).includes(id));
    if (other !== undefined) {
      student = { id, login: String(sim.data.user(id)!.login_id) };
      otherCourse = other;
      break;
    }
  }
  expect(student).toBeDefined();
});

afterAll(async () => {
  await gateway?.close();
  await sim?.close();
});

const ROSTER =
  '{ viewer { id } course(id: "1") { students { totalCount nodes { id grades { currentScore } } } } }';

describe("user mode: each person sees what their own Canvas token can see", () => {
  it("two users, two tokens under their own keys, isolated views (also when interleaved)", async () => {
    const teacherSession = await login(teacher.login);
    const studentSession = await login(student.login);

    const teacherRecord = await store.get(`user:${teacher.id}`);
    const studentRecord = await store.get(`user:${student.id}`);
    expect(teacherRecord?.access_token).toBeTruthy();
    expect(studentRecord?.access_token).toBeTruthy();
    expect(teacherRecord!.access_token).not.toBe(studentRecord!.access_token);
    // The cookie is an opaque id, never a token.
    for (const record of [teacherRecord!, studentRecord!]) {
      for (const session of [teacherSession, studentSession]) {
        expect(session.setCookie).not.toContain(record.access_token);
        expect(session.setCookie).not.toContain(String(record.refresh_token));
      }
    }

    // Interleave both users' requests: no cache or client is shared between them.
    for (let round = 0; round < 3; round++) {
      const [asTeacher, asStudent] = await Promise.all([
        query(teacherSession.cookie, ROSTER),
        query(studentSession.cookie, ROSTER),
      ]);
      const t = asTeacher.body.data as {
        viewer: { id: string };
        course: { students: { nodes: Array<{ id: string }> } };
      };
      const s = asStudent.body.data as {
        viewer: { id: string };
        course: {
          students: { totalCount: number; nodes: Array<{ id: string; grades: { currentScore: number } }> };
        };
      };
      expect(t.viewer.id).toBe(String(teacher.id));
      expect(t.course.students.nodes.length).toBeGreaterThan(1);
      expect(s.viewer.id).toBe(String(student.id));
      // The student sees only themselves, with their own grades.
      expect(s.course.students.totalCount).toBe(1);
      expect(s.course.students.nodes.map((n) => n.id)).toEqual([String(student.id)]);
      expect(typeof s.course.students.nodes[0]!.grades.currentScore).toBe("number");
    }
  });

  it("with the list cache on, a user's cached lists are never read for another user (same course)", async () => {
    const teacherSession = await login(teacher.login);
    const studentSession = await login(student.login);
    const teacherToken = (await store.get(`user:${teacher.id}`))!.access_token;
    const studentToken = (await store.get(`user:${student.id}`))!.access_token;
    type Roster = { course: { students: { totalCount: number; nodes: Array<{ id: string }> } } };

    // The teacher warms the cache with the whole roster of course 1.
    const warm = await query(teacherSession.cookie, ROSTER);
    expect((warm.body.data as Roster).course.students.totalCount).toBeGreaterThan(1);
    expect((await query(teacherSession.cookie, ROSTER)).status).toBe(200);

    // The student asks for the same course: Canvas is asked with the student's token, and the
    // answer is what that token sees (themselves), not the teacher's cached roster.
    sim.resetStats();
    const asStudent = await query(studentSession.cookie, ROSTER);
    const seen = (asStudent.body.data as Roster).course.students;
    expect(seen.totalCount).toBe(1);
    expect(seen.nodes.map((n) => n.id)).toEqual([String(student.id)]);
    expect(Object.keys(sim.stats().requests.byToken)).toEqual([tokenFingerprint(studentToken)]);
    expect(sim.stats().requests.total).toBeGreaterThan(1);

    // Both views are now cached, each under its own user: repeats cost nothing and stay apart.
    sim.resetStats();
    const [teacherAgain, studentAgain] = await Promise.all([
      query(teacherSession.cookie, ROSTER),
      query(studentSession.cookie, ROSTER),
    ]);
    expect((teacherAgain.body.data as Roster).course.students.totalCount).toBe(
      (warm.body.data as Roster).course.students.totalCount,
    );
    expect((studentAgain.body.data as Roster).course.students.totalCount).toBe(1);
    // Only `viewer` (never cached: it checks the credential) reached Canvas, once per user.
    expect(sim.stats().requests.byRoute).toEqual({ "GET /api/v1/users/:id": 2 });
    expect(Object.keys(sim.stats().requests.byToken).sort()).toEqual(
      [tokenFingerprint(teacherToken), tokenFingerprint(studentToken)].sort(),
    );
  });

  it("the response cache never answers one user with another's stored answer (same document)", async () => {
    const teacherSession = await login(teacher.login);
    const studentSession = await login(student.login);
    // No `viewer`: an answer made of list-cached course data only, so it is stored.
    const COURSE_ROSTER =
      '{ course(id: "1") { students { totalCount nodes { id grades { currentScore } } } } }';
    type Roster = { course: { students: { totalCount: number; nodes: Array<{ id: string }> } } };
    const hits = async () =>
      (await gateway.metrics.responseCacheLookups.get()).values.find((v) => v.labels.result === "hit")
        ?.value ?? 0;

    // Earlier tests left both users' lists in the list cache, near the end of their TTL on a slow
    // machine (an answer expires with its lists): the first asks read Canvas afresh.
    const teacherFirst = await query(teacherSession.cookie, COURSE_ROSTER, { "cache-control": "no-cache" });
    const before = await hits();
    const teacherAgain = await query(teacherSession.cookie, COURSE_ROSTER);
    expect(teacherAgain.body).toEqual(teacherFirst.body);
    expect(await hits()).toBe(before + 1);

    // The same bytes from the student: their own answer, from Canvas with their token.
    sim.resetStats();
    const asStudent = await query(studentSession.cookie, COURSE_ROSTER, { "cache-control": "no-cache" });
    expect(await hits()).toBe(before + 1);
    expect((asStudent.body.data as Roster).course.students.nodes.map((n) => n.id)).toEqual([
      String(student.id),
    ]);
    expect((teacherFirst.body.data as Roster).course.students.totalCount).toBeGreaterThan(1);
    // Then each one's repeat is their own stored answer.
    const [teacherThird, studentAgain] = await Promise.all([
      query(teacherSession.cookie, COURSE_ROSTER),
      query(studentSession.cookie, COURSE_ROSTER),
    ]);
    expect(teacherThird.body).toEqual(teacherFirst.body);
    expect(studentAgain.body).toEqual(asStudent.body);
    expect(await hits()).toBe(before + 3);

    // A new login of the student drops their stored answers (not the teacher's).
    const relogged = await login(student.login);
    await query(relogged.cookie, COURSE_ROSTER);
    expect(await hits()).toBe(before + 3);
    await query(teacherSession.cookie, COURSE_ROSTER);
    expect(await hits()).toBe(before + 4);
  });

  it("every Canvas request of the student's query carries the student's token", async () => {
    const session = await login(student.login);
    const token = (await store.get(`user:${student.id}`))!.access_token;
    sim.resetStats();
    await query(session.cookie, ROSTER);
    const byToken = sim.stats().requests.byToken;
    expect(Object.keys(byToken)).toEqual([tokenFingerprint(token)]);
  });

  it("the student gets FORBIDDEN for a course they are not in, and for analytics of their own", async () => {
    const session = await login(student.login);
    const other = await query(session.cookie, `{ course(id: "${otherCourse}") { id name } }`);
    expect(other.body.data).toEqual({ course: null });
    expect(other.body.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
    const analytics = await query(
      session.cookie,
      '{ course(id: "1") { students { nodes { engagement { pageViews } } } } }',
    );
    expect(analytics.body.errors?.map((e) => e.extensions?.code)).toEqual(["FORBIDDEN"]);
  });
});

describe("sessions and cookies", () => {
  it("the session cookie is HttpOnly, SameSite=Lax, Path=/, and Secure only over TLS", async () => {
    const plain = await login(teacher.login, HTTP_BASE);
    expect(plain.setCookie).toMatch(/; HttpOnly/);
    expect(plain.setCookie).toMatch(/; SameSite=Lax/);
    expect(plain.setCookie).toMatch(/; Path=\//);
    expect(plain.setCookie).not.toMatch(/; Secure/);
    // Canvas checks the redirect URI's scheme too: a developer key registered for https.
    const client = sim.admin.registerClient({ redirectUris: ["https://127.0.0.1/auth/callback"] });
    const tlsGateway = createGateway({
      mode: "user",
      canvasBaseUrl: sim.url,
      oauth: {
        clientId: client.clientId,
        clientSecret: client.clientSecret!,
        dangerouslyAllowInsecureHttp: true,
      },
      store,
      sessionSecret: SESSION_SECRET,
      logger: false,
    });
    try {
      const tls = await login(teacher.login, HTTPS_BASE, tlsGateway);
      expect(tls.setCookie).toMatch(/; Secure/);
      expect(tls.setCookie).toMatch(/; HttpOnly/);
      expect(tls.setCookie).toMatch(/; SameSite=Lax/);
    } finally {
      await tlsGateway.close();
    }
  });

  it("no session → 401 for GraphQL, a redirect to login for the GraphiQL page", async () => {
    const anonymous = await query(undefined, "{ viewer { id } }");
    expect(anonymous.status).toBe(401);
    expect(anonymous.body.errors?.[0]?.extensions?.code).toBe("UNAUTHENTICATED");
    const page = await gateway.fetch(`${HTTP_BASE}/graphql`, {
      headers: { accept: "text/html" },
      redirect: "manual",
    });
    expect(page.status).toBe(302);
    expect(page.headers.get("location")).toBe("/auth/login?returnTo=%2Fgraphql");
  });

  it("a forged or tampered session cookie is refused", async () => {
    const { cookie } = await login(teacher.login);
    const tampered = cookie.replace(/.$/, (c) => (c === "A" ? "B" : "A"));
    expect((await query(tampered, "{ viewer { id } }")).status).toBe(401);
    expect((await query(`${SESSION_COOKIE}=made-up.value`, "{ viewer { id } }")).status).toBe(401);
  });

  it("a callback without this browser's login cookie, or replayed, is refused (no login CSRF)", async () => {
    const start = await gateway.fetch(`${HTTP_BASE}/auth/login`, { redirect: "manual" });
    const binding = cookieValue(setCookies(start), LOGIN_COOKIE)!;
    const consent = new URL(start.headers.get("location")!);
    consent.searchParams.set("auto", "1");
    consent.searchParams.set("unique_id", teacher.login);
    const callback = (await fetch(consent, { redirect: "manual" })).headers.get("location")!;
    expect((await gateway.fetch(callback, { redirect: "manual" })).status).toBe(400);
    const first = await gateway.fetch(callback, {
      redirect: "manual",
      headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
    });
    // The state was consumed by the refused attempt above? No: a refused callback does not consume it.
    expect(first.status).toBe(302);
    const replay = await gateway.fetch(callback, {
      redirect: "manual",
      headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
    });
    expect(replay.status).toBe(400);
  });

  it("logout ends the session (POST only), revokes the Canvas token and deletes the record", async () => {
    const { cookie } = await login(teacher.login);
    expect((await query(cookie, "{ viewer { id } }")).status).toBe(200);
    const token = (await store.get(`user:${teacher.id}`))!.access_token;
    const get = await gateway.fetch(`${HTTP_BASE}/auth/logout`, { headers: { cookie } });
    expect(get.status).toBe(405);
    const out = await gateway.fetch(`${HTTP_BASE}/auth/logout`, { method: "POST", headers: { cookie } });
    expect(out.status).toBe(200);
    expect(await out.json()).toEqual({ loggedOut: true, revoked: true });
    expect(setCookies(out).find((c) => c.startsWith(`${SESSION_COOKIE}=`))).toMatch(/Max-Age=0/);
    expect((await query(cookie, "{ viewer { id } }")).status).toBe(401);
    // As `easel logout` does: Canvas no longer accepts the token, and the store no longer holds it.
    expect(await store.get(`user:${teacher.id}`)).toBeUndefined();
    const refused = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(refused.status).toBe(401);
    expect(((await refused.json()) as { errors: Array<{ message: string }> }).errors[0]!.message).toBe(
      "Revoked access token.",
    );
  });

  it("OAuth errors at the callback: a small HTML page for a browser, JSON for scripts", async () => {
    const start = await gateway.fetch(`${HTTP_BASE}/auth/login`, { redirect: "manual" });
    const binding = cookieValue(setCookies(start), LOGIN_COOKIE)!;
    const state = new URL(start.headers.get("location")!).searchParams.get("state")!;
    // The person clicked "Cancel" on Canvas's consent page.
    const denied = `${HTTP_BASE}/auth/callback?error=access_denied&state=${encodeURIComponent(state)}`;
    const html = await gateway.fetch(denied, {
      headers: { cookie: `${LOGIN_COOKIE}=${binding}`, accept: "text/html,application/xhtml+xml,*/*;q=0.8" },
    });
    expect(html.status).toBe(403);
    expect(html.headers.get("content-type")).toMatch(/^text\/html/);
    const page = await html.text();
    expect(page).toContain("Canvas did not authorize the login.");
    expect(page).toContain('href="/auth/login"');

    const expired = await gateway.fetch(`${HTTP_BASE}/auth/callback?code=x&state=unknown`, {
      headers: { accept: "application/json" },
    });
    expect(expired.status).toBe(400);
    expect(expired.headers.get("content-type")).toMatch(/^application\/json/);
    expect(
      ((await expired.json()) as { errors: Array<{ extensions: { code: string } }> }).errors[0]!.extensions
        .code,
    ).toBe("UNAUTHENTICATED");
  });

  it("returnTo only accepts local paths (no open redirect)", async () => {
    for (const evil of ["https://evil.example.com/", "//evil.example.com/x", "/\\evil.example.com"]) {
      const start = await gateway.fetch(`${HTTP_BASE}/auth/login?returnTo=${encodeURIComponent(evil)}`, {
        redirect: "manual",
      });
      const binding = cookieValue(setCookies(start), LOGIN_COOKIE)!;
      const consent = new URL(start.headers.get("location")!);
      consent.searchParams.set("auto", "1");
      consent.searchParams.set("unique_id", teacher.login);
      const callback = (await fetch(consent, { redirect: "manual" })).headers.get("location")!;
      const done = await gateway.fetch(callback, {
        redirect: "manual",
        headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
      });
      expect(done.headers.get("location")).toBe("/graphql");
    }
  });

  it("a cookie-authenticated request a form could send is refused (403 CSRF_HEADER_REQUIRED), before Canvas", async () => {
    const { cookie } = await login(teacher.login);
    const assignmentId = String(sim.data.assignments(1)[0]!.id);
    const studentId = String(sim.data.studentIds(1)[0]);
    const mutation = `mutation { updateGrades(courseId: "1", assignmentId: "${assignmentId}", grades: [{ studentId: "${studentId}", postedGrade: "0" }]) { id } }`;
    const form = new URLSearchParams({ query: mutation }).toString();
    const multipart = new FormData();
    multipart.set("operations", JSON.stringify({ query: mutation }));
    const formLike: Array<[string, RequestInit]> = [
      ["urlencoded form", { body: form, headers: { "content-type": "application/x-www-form-urlencoded" } }],
      ["multipart form", { body: multipart }],
      [
        "text/plain",
        { body: JSON.stringify({ query: mutation }), headers: { "content-type": "text/plain" } },
      ],
      ["no content type", { body: new Blob([JSON.stringify({ query: mutation })]) }],
    ];
    sim.resetStats();
    for (const [name, init] of formLike) {
      const headers = new Headers(init.headers);
      headers.set("cookie", cookie);
      const response = await gateway.fetch(`${HTTP_BASE}/graphql`, { ...init, method: "POST", headers });
      expect(response.status, name).toBe(403);
      expect(await response.json(), name).toMatchObject({
        errors: [{ extensions: { code: "CSRF_HEADER_REQUIRED" } }],
      });
    }
    // A GET carries no content type: it needs the header too.
    const viaGet = await gateway.fetch(
      `${HTTP_BASE}/graphql?query=${encodeURIComponent("{ viewer { id } }")}`,
      {
        headers: { cookie, accept: "application/json" },
      },
    );
    expect(viaGet.status).toBe(403);
    expect(sim.stats().requests.total).toBe(0);

    // What a form cannot send is accepted: JSON (the existing clients), or the header.
    expect((await query(cookie, "{ viewer { id } }")).status).toBe(200);
    const withHeader = await gateway.fetch(`${HTTP_BASE}/graphql`, {
      method: "POST",
      body: new URLSearchParams({ query: "{ viewer { id } }" }).toString(),
      headers: {
        cookie,
        "content-type": "application/x-www-form-urlencoded",
        "x-graphql-yoga-csrf": "1",
      },
    });
    expect(withHeader.status).toBe(200);
    const getWithHeader = await gateway.fetch(
      `${HTTP_BASE}/graphql?query=${encodeURIComponent("{ viewer { id } }")}`,
      { headers: { cookie, accept: "application/json", "x-graphql-yoga-csrf": "1" } },
    );
    expect(getWithHeader.status).toBe(200);
    // Without a session it stays a 401, and the GraphiQL page is served as before.
    const anonymous = await gateway.fetch(`${HTTP_BASE}/graphql`, formLike[0]![1]);
    expect(anonymous.status).toBe(401);
    const page = await gateway.fetch(`${HTTP_BASE}/graphql`, { headers: { cookie, accept: "text/html" } });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
  });
});
