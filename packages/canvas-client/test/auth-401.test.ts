import { REAUTH_REQUIRED as AUTH_REAUTH_REQUIRED, ReauthorizationRequiredError } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  CANVAS_FORBIDDEN,
  CanvasClient,
  CanvasForbiddenError,
  CanvasUnauthorizedError,
  REAUTH_REQUIRED,
} from "../src/index.js";
import { RefreshingTokenProvider, startSim } from "./helpers/sim.js";

const ENROLLMENTS = "GET /api/v1/courses/:course_id/enrollments";

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

function expectNoSecrets(error: unknown, secrets: readonly string[]) {
  const err = error as Error & { cause?: unknown };
  const text = `${err.message} ${JSON.stringify(err)} ${String(err.stack)} ${JSON.stringify(err.cause ?? null)}`;
  for (const secret of secrets) expect(text).not.toContain(secret);
}

describe("401 with WWW-Authenticate: refresh once, retry", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 1, studentsPerCourse: 120 });
  });
  afterAll(async () => {
    await sim.close();
  });
  beforeEach(() => {
    sim.faults.clear();
    sim.resetStats();
  });

  it("an expired access token costs exactly one refresh, even for 8 requests in flight at once", async () => {
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider, perPage: 10 });
    sim.admin.expireToken(provider.accessToken);

    const results = await Promise.all(
      Array.from({ length: 8 }, (_, i) => canvas.courses.get(1, { include: [`x${i}`] })),
    );
    expect(results.map((c) => c.id)).toEqual(Array(8).fill(1));
    expect(provider.handleUnauthorizedCalls).toBe(1);
    expect(canvas.stats().refreshes).toBe(1);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(sim.stats().requests.byStatus["401"]).toBeGreaterThanOrEqual(1);

    // The walk goes on with the new token; no further refresh.
    const ids: number[] = [];
    for await (const e of canvas.enrollments.forCourse(1)) ids.push(e.id);
    expect(ids).toEqual(sim.data.enrollments(1).map((e) => e.id));
    expect(provider.handleUnauthorizedCalls).toBe(1);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    await canvas.close();
  });

  it("a token that expires in the middle of a walk is refreshed once and the walk loses no row", async () => {
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider, perPage: 10 });
    const ids: number[] = [];
    for await (const e of canvas.enrollments.forCourse(1)) {
      ids.push(e.id);
      // The 1-hour expiry passes mid-walk (a revocation would kill the refresh token too).
      if (ids.length === 35) sim.admin.expireToken(provider.accessToken);
    }
    expect(ids).toEqual(sim.data.enrollments(1).map((e) => e.id));
    expect(provider.handleUnauthorizedCalls).toBe(1);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    await canvas.close();
  });

  it("a second 401 after the refresh is REAUTH_REQUIRED, with one refresh call and no token in the error", async () => {
    const stale = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "stale" });
    sim.admin.revokeToken(stale);
    let calls = 0;
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: {
        getAccessToken: async () => stale,
        // A provider that "refreshes" into a token Canvas does not know either.
        handleUnauthorized: async () => {
          calls++;
          return "still-not-a-valid-token-0123456789";
        },
      },
    });
    const error = await failure(canvas.users.self());
    expect(error).toBeInstanceOf(CanvasUnauthorizedError);
    expect((error as CanvasUnauthorizedError).code).toBe(REAUTH_REQUIRED);
    expect((error as CanvasUnauthorizedError).status).toBe(401);
    expect((error as CanvasUnauthorizedError).canvasMessages).toEqual(["Invalid access token."]);
    expect(calls).toBe(1);
    expect(sim.stats().requests.total).toBe(2);
    expectNoSecrets(error, [stale, "still-not-a-valid-token-0123456789"]);
    await canvas.close();
  });

  it("a revoked developer token rejects with the provider's ReauthorizationRequiredError", async () => {
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "revoked" });
    sim.admin.revokeToken(token);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: token });
    const error = await failure(canvas.courses.get(1));
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect((error as ReauthorizationRequiredError).code).toBe(AUTH_REAUTH_REQUIRED);
    expect(canvas.stats().refreshes).toBe(1);
    expect(sim.stats().requests.total).toBe(1);
    expectNoSecrets(error, [token]);
    await canvas.close();
  });

  it("an injected 401-expired fault is absorbed by one refresh", async () => {
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider });
    sim.faults.add({ fault: "401-expired", route: ENROLLMENTS, times: 1 });
    const rows = await canvas.collect("/api/v1/courses/1/enrollments");
    expect(rows).toHaveLength(sim.data.enrollments(1).length);
    expect(provider.handleUnauthorizedCalls).toBe(1);
    await canvas.close();
  });
});

describe("403, and 401 without WWW-Authenticate: forbidden, never refreshed, never retried", () => {
  let sim: CanvasSim;
  let legacy: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 2, studentsPerCourse: 10 });
    legacy = await startSim({ courses: 2, studentsPerCourse: 10, permissionErrorStatus: 401 });
  });
  afterAll(async () => {
    await sim.close();
    await legacy.close();
  });

  it("403 user not authorized → CanvasForbiddenError after one request, zero refreshes", async () => {
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider });
    sim.admin.setCourseForbidden(sim.data.adminUserId, 2);
    sim.resetStats();
    const error = await failure(canvas.collect("/api/v1/courses/2/enrollments"));
    expect(error).toBeInstanceOf(CanvasForbiddenError);
    expect((error as CanvasForbiddenError).code).toBe(CANVAS_FORBIDDEN);
    expect((error as CanvasForbiddenError).status).toBe(403);
    expect((error as CanvasForbiddenError).canvasMessages).toEqual([
      "user not authorized to perform that action",
    ]);
    expect((error as CanvasForbiddenError).requestId).toMatch(/\w/);
    expect((error as CanvasForbiddenError).path).toBe("/api/v1/courses/2/enrollments");
    expect(provider.handleUnauthorizedCalls).toBe(0);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);
    expect(sim.stats().requests.total).toBe(1);
    expectNoSecrets(error, provider.issued);
    await canvas.close();
  });

  it("legacy 401 'user not authorized' (no WWW-Authenticate) → CanvasForbiddenError, zero refreshes", async () => {
    const provider = new RefreshingTokenProvider(legacy, legacy.data.adminUserId);
    const canvas = new CanvasClient({ baseUrl: legacy.url, auth: provider });
    legacy.admin.setCourseForbidden(legacy.data.adminUserId, 1);
    legacy.resetStats();
    const error = await failure(canvas.courses.get(1));
    expect(error).toBeInstanceOf(CanvasForbiddenError);
    expect((error as CanvasForbiddenError).status).toBe(401);
    expect(provider.handleUnauthorizedCalls).toBe(0);
    expect(legacy.stats().tokenGrants.refresh_token).toBe(0);
    expect(legacy.stats().requests.total).toBe(1);
    await canvas.close();
  });

  it("401 Insufficient scopes (no WWW-Authenticate) → CanvasForbiddenError, zero refreshes", async () => {
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const scoped = sim.admin.mintOAuthTokens({
      userId: sim.data.adminUserId,
      scopes: ["url:GET|/api/v1/users/:id"],
    });
    provider.accessToken = scoped.access_token;
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider });
    sim.resetStats();
    expect((await canvas.users.self()).id).toBe(sim.data.adminUserId);
    const error = await failure(canvas.collect("/api/v1/courses/1/enrollments"));
    expect(error).toBeInstanceOf(CanvasForbiddenError);
    expect((error as CanvasForbiddenError).status).toBe(401);
    expect((error as CanvasForbiddenError).canvasMessages).toEqual(["Insufficient scopes on access token."]);
    expect(provider.handleUnauthorizedCalls).toBe(0);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);
    expect(sim.stats().requests.total).toBe(2);
    expectNoSecrets(error, [scoped.access_token, scoped.refresh_token]);
    await canvas.close();
  });
});
