import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CanvasSim, type SimStats, tokenFingerprint } from "../src/index.js";
import { call, startSim } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ throttle: false });
});
afterAll(() => sim.close());

const control = async <T = Record<string, unknown>>(path: string, init?: RequestInit): Promise<T> => {
  const response = await fetch(`${sim.url}${path}`, init);
  expect(response.status).toBe(200);
  return (await response.json()) as T;
};
const postJson = (path: string, body: unknown) =>
  control(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });

describe("stats", () => {
  it("counts requests by route template, status and token; /__sim is not counted", async () => {
    sim.resetStats();
    await call(sim, "/api/v1/courses/1/enrollments");
    await call(sim, "/api/v1/courses/2/enrollments?per_page=5");
    await call(sim, "/api/v1/courses/99/enrollments");
    await call(sim, "/api/v1/courses", { token: null });
    const stats = await control<SimStats>("/__sim/stats");
    expect(stats.requests.total).toBe(4);
    expect(stats.requests.byRoute).toEqual({
      "GET /api/v1/courses/:course_id/enrollments": 3,
      "GET /api/v1/courses": 1,
    });
    expect(stats.requests.byStatus).toEqual({ "200": 2, "404": 1, "401": 1 });
    expect(stats.requests.byToken).toEqual({ [tokenFingerprint(sim.developerToken)]: 3 });
    expect(stats.peakConcurrency).toBeGreaterThanOrEqual(1);
    // Each call waited for the one before: four round trips.
    expect(stats.rounds).toBe(4);
    expect(stats.tokenGrants).toEqual({ authorization_code: 0, refresh_token: 0, refused: 0 });
    expect(stats.memory.rss).toBeGreaterThan(0);
    expect(sim.stats().requests.total).toBe(4);
  });

  it("rounds counts dependent steps, not requests: requests sent together are one round", async () => {
    // Held long enough that the three overlap on any machine; only the order matters, not the time.
    const slow = sim.faults.add({ fault: "slow", latencyMs: 500 });
    try {
      sim.resetStats();
      await Promise.all([1, 2, 3].map((id) => call(sim, `/api/v1/courses/${id}/enrollments`)));
      expect(sim.stats().rounds).toBe(1);
      await call(sim, "/api/v1/courses");
      expect(sim.stats().rounds).toBe(2);
      expect(sim.stats().requests.total).toBe(4);
    } finally {
      for (const id of slow) sim.faults.remove(id);
    }
  });

  it("POST /__sim/reset and resetStats() zero the counters", async () => {
    await call(sim, "/api/v1/courses");
    await control("/__sim/reset", { method: "POST" });
    expect(sim.stats().requests.total).toBe(0);
    await call(sim, "/api/v1/courses");
    sim.resetStats();
    expect(sim.stats().requests).toEqual({ total: 0, byRoute: {}, byStatus: {}, byToken: {} });
  });

  it("never leaks a token string into stats", async () => {
    const text = JSON.stringify(await control("/__sim/stats"));
    expect(text).not.toContain(sim.developerToken);
  });
});

describe("clock", () => {
  it("POST /__sim/clock advances simulated time and expires tokens", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1, expiresIn: 100 });
    const before = sim.now();
    const moved = await postJson("/__sim/clock", { seconds: 101 });
    expect((moved.nowMs as number) - before).toBeGreaterThanOrEqual(101_000);
    expect(sim.now() - before).toBeGreaterThanOrEqual(101_000);
    expect((await call(sim, "/api/v1/users/self", { token: minted.access_token })).status).toBe(401);
  });
});

describe("token conveniences", () => {
  it("POST /__sim/oauth/tokens mints a pair from a form or JSON", async () => {
    const student = sim.data.studentIds(1)[0]!;
    const fromForm = await control<{
      access_token: string;
      refresh_token: string;
      expires_in: number;
      user: { id: number };
    }>("/__sim/oauth/tokens", {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: `user_id=${student}&expires_in=120`,
    });
    expect(fromForm.user.id).toBe(student);
    expect(fromForm.expires_in).toBe(120);
    expect((await call(sim, "/api/v1/users/self", { token: fromForm.access_token })).status).toBe(200);
    const fromJson = await postJson("/__sim/oauth/tokens", { user_id: 1 });
    expect(fromJson.token_type).toBe("Bearer");
    expect(typeof fromJson.refresh_token).toBe("string");
  });

  it("creates, expires and revokes developer tokens", async () => {
    const { token } = await postJson("/__sim/tokens", { user_id: 1, purpose: "ctl" });
    expect((await call(sim, "/api/v1/users/self", { token: token as string })).status).toBe(200);
    expect(await postJson("/__sim/tokens/expire", { token })).toEqual({ expired: true });
    const expired = await call<{ errors: Array<{ message: string }> }>(sim, "/api/v1/users/self", {
      token: token as string,
    });
    expect(expired.body.errors[0]!.message).toBe("Expired access token.");
    const second = (await postJson("/__sim/tokens", { user_id: 1 })).token as string;
    expect(await postJson("/__sim/tokens/revoke", { token: second })).toEqual({ revoked: true });
    expect((await call(sim, "/api/v1/users/self", { token: second })).status).toBe(401);
  });

  it("switches: forbidden course, analytics", async () => {
    await postJson("/__sim/forbidden", { user_id: 1, course_id: 3 });
    expect((await call(sim, "/api/v1/courses/3")).status).toBe(403);
    await postJson("/__sim/forbidden", { user_id: 1, course_id: 3, forbidden: false });
    expect((await call(sim, "/api/v1/courses/3")).status).toBe(200);
    await postJson("/__sim/analytics", { enabled: false });
    expect((await call(sim, "/api/v1/courses/1/analytics/student_summaries")).status).toBe(404);
    await postJson("/__sim/analytics", { enabled: true });
    expect((await call(sim, "/api/v1/courses/1/analytics/student_summaries")).status).toBe(200);
  });

  it("reports info and a course's submission summary", async () => {
    const info = await control("/__sim/info");
    expect(info).toMatchObject({
      url: sim.url,
      clientId: sim.clientId,
      publicClientId: sim.publicClientId,
      courses: 3,
    });
    expect(JSON.stringify(info)).not.toContain(sim.clientSecret);
    const summary = await control("/__sim/data/courses/2/summary");
    const range = sim.data.submissionIdRange(2);
    expect(summary).toMatchObject({
      submissions: 25 * 6,
      submissionIdFirst: range.first,
      submissionIdLast: range.last,
    });
    const ids = [...sim.data.submissions(2)].map((row) => row.id);
    expect(summary.submissionIdSum).toBe(ids.reduce((sum, id) => sum + id, 0));
    expect((await fetch(`${sim.url}/__sim/nope`)).status).toBe(404);
  });
});

describe("what stats count", () => {
  it("counts unknown /api paths under '<unmatched>' and ignores stray paths", async () => {
    sim.resetStats();
    expect((await call(sim, "/api/v1/nope")).status).toBe(404);
    expect((await call(sim, "/favicon.ico", { token: null })).status).toBe(404);
    expect(sim.stats().requests.byRoute).toEqual({ "GET <unmatched>": 1 });
  });
});
