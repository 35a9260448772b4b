import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim } from "../src/index.js";
import { call, startSim } from "./helpers.js";

type ErrorBody = { status?: string; errors: Array<{ message: string; expired_at?: string }> };

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(() => sim.close());

const BEARER = 'Bearer realm="canvas-lms"';

describe("401 with WWW-Authenticate: the token is bad (refresh or re-authorize)", () => {
  it("no credentials at all", async () => {
    const result = await call<ErrorBody>(sim, "/api/v1/courses", { token: null });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(BEARER);
    expect(result.body).toEqual({
      status: "unauthenticated",
      errors: [{ message: "user authorization required" }],
    });
  });

  it("an unknown token", async () => {
    const result = await call<ErrorBody>(sim, "/api/v1/courses", { token: "not-a-token" });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(BEARER);
    expect(result.body).toEqual({ errors: [{ message: "Invalid access token." }] });
  });

  it("an OAuth token past its hour is plain 'Invalid access token.'", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    expect((await call(sim, "/api/v1/users/self", { token: minted.access_token })).status).toBe(200);
    sim.advanceClock(3601);
    const result = await call<ErrorBody>(sim, "/api/v1/users/self", { token: minted.access_token });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(BEARER);
    expect(result.body.errors[0]!.message).toBe("Invalid access token.");
  });

  it("admin.expireToken expires an OAuth token at once", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    expect(sim.admin.expireToken(minted.access_token)).toBe(true);
    const result = await call<ErrorBody>(sim, "/api/v1/users/self", { token: minted.access_token });
    expect(result.body.errors[0]!.message).toBe("Invalid access token.");
  });

  it("a developer token past its expires_at → 'Expired access token.' with expired_at", async () => {
    const expiresAt = sim.now() + 60_000;
    const token = sim.admin.createDeveloperToken({ userId: 1, expiresAt });
    expect((await call(sim, "/api/v1/users/self", { token })).status).toBe(200);
    sim.advanceClock(61);
    const result = await call<ErrorBody>(sim, "/api/v1/users/self", { token });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(BEARER);
    expect(result.body.errors[0]!.message).toBe("Expired access token.");
    expect(Date.parse(result.body.errors[0]!.expired_at!)).toBe(Math.floor(expiresAt / 1000) * 1000);
  });

  it("a revoked token → 'Revoked access token.'", async () => {
    const token = sim.admin.createDeveloperToken({ userId: 1 });
    expect(sim.admin.revokeToken(token)).toBe(true);
    const result = await call<ErrorBody>(sim, "/api/v1/users/self", { token });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe(BEARER);
    expect(result.body.errors[0]!.message).toBe("Revoked access token.");
  });

  it("accepts the token as an access_token query parameter, as Canvas does", async () => {
    const result = await call<{ id: number }>(sim, `/api/v1/users/self?access_token=${sim.developerToken}`, {
      token: null,
    });
    expect(result.status).toBe(200);
    expect(result.body.id).toBe(1);
  });
});

describe("401 without WWW-Authenticate: insufficient scopes", () => {
  it("a scoped token outside its url: scopes", async () => {
    const token = sim.admin.createDeveloperToken({
      userId: 1,
      scopes: ["url:GET|/api/v1/courses/:course_id/enrollments"],
    });
    const ok = await call(sim, "/api/v1/courses/2/enrollments", { token });
    expect(ok.status).toBe(200);
    const denied = await call<ErrorBody>(sim, "/api/v1/courses/2/users", { token });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toBeNull();
    expect(denied.body).toEqual({ errors: [{ message: "Insufficient scopes on access token." }] });
  });
});

describe("403: authenticated but not permitted", () => {
  it("a student reading another course", async () => {
    const studentId = sim.data.studentIds(1)[0]!;
    const { access_token } = sim.admin.mintOAuthTokens({ userId: studentId });
    const result = await call<ErrorBody>(sim, "/api/v1/courses/3/enrollments", { token: access_token });
    expect(result.status).toBe(403);
    expect(result.headers.get("www-authenticate")).toBeNull();
    expect(result.body).toEqual({
      status: "unauthorized",
      errors: [{ message: "user not authorized to perform that action" }],
    });
  });

  it("a student sees only their own data in their course", async () => {
    const [me, other] = sim.data.studentIds(1);
    const { access_token } = sim.admin.mintOAuthTokens({ userId: me! });
    const courses = await call<Array<{ id: number }>>(sim, "/api/v1/courses", { token: access_token });
    expect(courses.body.map((course) => course.id)).toContain(1);
    expect(courses.body.map((course) => course.id)).not.toContain(3);
    expect((await call(sim, "/api/v1/courses/1/enrollments", { token: access_token })).status).toBe(403);
    const own = await call<Array<{ user_id: number }>>(sim, "/api/v1/courses/1/enrollments?user_id=self", {
      token: access_token,
    });
    expect(own.status).toBe(200);
    expect(own.body.map((enrollment) => enrollment.user_id)).toEqual([me]);
    const mine = await call<Array<{ user_id: number }>>(
      sim,
      "/api/v1/courses/1/students/submissions?student_ids[]=all",
      { token: access_token },
    );
    expect(mine.status).toBe(200);
    expect(new Set(mine.body.map((row) => row.user_id))).toEqual(new Set([me]));
    const theirs = await call(sim, `/api/v1/courses/1/students/submissions?student_ids[]=${other}`, {
      token: access_token,
    });
    expect(theirs.status).toBe(403);
    expect(
      (await call(sim, "/api/v1/courses/1/analytics/student_summaries", { token: access_token })).status,
    ).toBe(403);
  });

  it("anyone may ask for their own enrollments (user_id=self), even outside the course", async () => {
    const outsider = sim.data.studentIds(3).at(-1)!;
    const { access_token } = sim.admin.mintOAuthTokens({ userId: outsider });
    const result = await call(sim, "/api/v1/courses/1/enrollments?user_id=self", { token: access_token });
    expect(result.status).toBe(200);
    expect(result.body).toEqual([]);
  });

  it("a teacher reads their own course and is refused others", async () => {
    const teacher = sim.data.staff(2)[0]!;
    const { access_token } = sim.admin.mintOAuthTokens({ userId: teacher.id });
    expect((await call(sim, "/api/v1/courses/2/enrollments", { token: access_token })).status).toBe(200);
    expect((await call(sim, "/api/v1/courses/1/enrollments", { token: access_token })).status).toBe(403);
  });

  it("setCourseForbidden makes a course unreadable even for the admin", async () => {
    sim.admin.setCourseForbidden(1, 2);
    try {
      expect((await call(sim, "/api/v1/courses/2/assignments")).status).toBe(403);
      expect((await call(sim, "/api/v1/courses/1/assignments")).status).toBe(200);
      const list = await call<Array<{ id: number }>>(sim, "/api/v1/courses");
      expect(list.body.map((course) => course.id)).toEqual([1, 3]);
    } finally {
      sim.admin.setCourseForbidden(1, 2, false);
    }
    expect((await call(sim, "/api/v1/courses/2/assignments")).status).toBe(200);
  });

  it("the legacy switch answers permission errors with 401 (still without WWW-Authenticate)", async () => {
    const legacy = await startSim({ permissionErrorStatus: 401 });
    try {
      legacy.admin.setCourseForbidden(1, 1);
      const result = await call<ErrorBody>(legacy, "/api/v1/courses/1", { token: legacy.developerToken });
      expect(result.status).toBe(401);
      expect(result.headers.get("www-authenticate")).toBeNull();
      expect(result.body.errors[0]!.message).toBe("user not authorized to perform that action");
    } finally {
      await legacy.close();
    }
  });
});

describe("404", () => {
  it("an unknown course or route", async () => {
    for (const path of ["/api/v1/courses/99", "/api/v1/courses/1/assignments/999999", "/api/v1/nothing"]) {
      const result = await call<ErrorBody>(sim, path);
      expect(result.status).toBe(404);
      expect(result.body).toEqual({ errors: [{ message: "The specified resource does not exist." }] });
    }
  });
});
