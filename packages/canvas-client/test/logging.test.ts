import { Writable } from "node:stream";
import type { CanvasSim } from "@easel/canvas-sim";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanvasClient } from "../src/index.js";
import { RefreshingTokenProvider, startSim } from "./helpers/sim.js";

describe("logging through an injected pino logger", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({
      seed: 9,
      courses: 2,
      studentsPerCourse: 60,
      assignmentsPerCourse: 3,
      jobSeconds: 0.2,
    });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("records method, path template, status, duration and cost — never a token or a student's name", async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).split("\n").filter(Boolean));
        done();
      },
    });
    const logger = pino({ level: "debug" }, sink);
    const provider = new RefreshingTokenProvider(sim, sim.data.adminUserId);
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: provider,
      logger,
      perPage: 25,
      timeoutMs: 5000,
      retry: { minDelayMs: 5, maxDelayMs: 20 },
      pacing: { leakPerSecond: 5000 },
    });

    // A refresh (expired token), retried faults, a throttle, errors, student data in bodies.
    sim.admin.expireToken(provider.accessToken);
    sim.faults.add([
      { fault: "503", route: "GET /api/v1/courses/:course_id/enrollments", times: 1 },
      { fault: "drop", route: "GET /api/v1/courses/:course_id/users", times: 1 },
      { fault: "throttle", route: "GET /api/v1/courses/:course_id/students/submissions", times: 1 },
    ]);
    const names: string[] = [];
    for await (const e of canvas.enrollments.forCourse(1))
      if (e.user) names.push(e.user.name, e.user.sortable_name);
    for await (const u of canvas.courses.students(2, { include: ["email"] }))
      names.push(u.name, u.short_name);
    for await (const _ of canvas.submissions.forStudents(1, { studentIds: "all", include: ["user"] })) {
    }
    const student = sim.data.studentIds(1)[0]!;
    const progress = await canvas.grades.update(1, sim.data.assignments(1)[0]!.id, {
      [student]: { posted_grade: "1", text_comment: "see me" },
    });
    await canvas.progress.waitFor(progress.id, { intervalMs: 50 });
    const created = await canvas.tokens.create({ purpose: "log test" });
    await canvas.tokens.get(created.visible_token!.slice(0, 5));
    sim.admin.setCourseForbidden(sim.data.adminUserId, 2);
    for (const attempt of [() => canvas.courses.get(2), () => canvas.courses.get(424242)]) {
      try {
        await attempt();
      } catch (err) {
        logger.error({ err }, "caller logs the error it got");
      }
    }
    await canvas.close();
    logger.flush();
    await new Promise((resolve) => setImmediate(resolve));

    const output = lines.join("\n");
    const secrets = [...provider.issued, sim.developerToken, created.visible_token!, sim.clientSecret];
    expect(provider.handleUnauthorizedCalls).toBe(1);
    for (const secret of secrets) expect(output).not.toContain(secret);
    // Not even a token hint (first 5 characters) used as an id in a path.
    expect(output).not.toContain(created.visible_token!.slice(0, 5));

    const people = [...sim.data.students(1), ...sim.data.students(2)];
    const pii = new Set<string>(names);
    for (const p of people) {
      for (const field of ["name", "sortable_name", "short_name", "email", "login_id"]) {
        const value = p[field];
        if (typeof value === "string" && value.length > 3) pii.add(value);
      }
    }
    expect(pii.size).toBeGreaterThan(200);
    for (const value of pii) expect(output, value).not.toContain(value);

    const entries = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const requests = entries.filter((e) => e.msg === "Canvas request");
    expect(requests.length).toBeGreaterThan(10);
    const ok = requests.find((e) => e.status === 200 && e.path === "/api/v1/courses/:id/enrollments");
    expect(ok).toMatchObject({ method: "GET", attempt: expect.any(Number), durationMs: expect.any(Number) });
    expect(typeof ok!.cost).toBe("number");
    expect(typeof ok!.remaining).toBe("number");
    expect(requests.every((e) => typeof e.path === "string" && !String(e.path).includes("?"))).toBe(true);
    expect(requests.some((e) => e.path === "/api/v1/users/self/tokens/:id")).toBe(true);
    expect(entries.some((e) => e.level === 30 && String(e.msg).includes("fresh one"))).toBe(true);
    expect(entries.filter((e) => e.level === 40).length).toBeGreaterThanOrEqual(3);
    expect(entries.filter((e) => e.msg === "caller logs the error it got")).toHaveLength(2);
  });

  it("builds no per-request debug fields while the logger's level is above debug, and follows a level change", async () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n").filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const base = pino({ level: "info" }, sink);
    // pino itself drops debug lines at level info; count the calls that reach it, i.e. the field
    // objects the client built for nothing.
    let debugCalls = 0;
    const logger = {
      debug: (obj: Record<string, unknown>, msg?: string) => {
        debugCalls++;
        base.debug(obj, msg);
      },
      info: (obj: Record<string, unknown>, msg?: string) => base.info(obj, msg),
      warn: (obj: Record<string, unknown>, msg?: string) => base.warn(obj, msg),
      error: (obj: Record<string, unknown>, msg?: string) => base.error(obj, msg),
      isLevelEnabled: (level: string) => base.isLevelEnabled(level),
    };
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: sim.developerToken,
      logger,
      perPage: 25,
      retry: { minDelayMs: 5, maxDelayMs: 20 },
    });
    sim.faults.add([{ fault: "503", route: "GET /api/v1/courses/:course_id/users", times: 1 }]);
    let students = 0;
    for await (const _ of canvas.courses.students(1)) students++;
    expect(students).toBeGreaterThan(25);
    expect(debugCalls).toBe(0);
    // Warnings still come at level info: the 503 retried.
    expect(lines.some((e) => e.level === 40 && e.msg === "Canvas server error; retrying")).toBe(true);

    base.level = "debug";
    await canvas.courses.get(1);
    await canvas.close();
    base.flush();
    await new Promise((resolve) => setImmediate(resolve));
    expect(debugCalls).toBe(1);
    expect(lines.filter((e) => e.msg === "Canvas request")).toEqual([
      expect.objectContaining({
        method: "GET",
        path: "/api/v1/courses/:id",
        status: 200,
        cost: expect.any(Number),
      }),
    ]);
  });

  it("still writes every request's debug line to a logger that cannot say its level", async () => {
    const debug: Array<Record<string, unknown>> = [];
    const noop = () => {};
    const canvas = new CanvasClient({
      baseUrl: sim.url,
      auth: sim.developerToken,
      logger: { debug: (obj) => debug.push(obj), info: noop, warn: noop, error: noop },
      perPage: 25,
    });
    for await (const _ of canvas.courses.students(1)) {
    }
    await canvas.close();
    expect(debug).toHaveLength(3);
    expect(debug.every((e) => e.status === 200 && e.path === "/api/v1/courses/:id/users")).toBe(true);
  });
});
