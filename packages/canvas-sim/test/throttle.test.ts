import { describe, expect, it } from "vitest";
import type { CanvasSim, CanvasSimOptions } from "../src/index.js";
import { call, refreshGrant, startSim } from "./helpers.js";

async function withSim(options: CanvasSimOptions, run: (sim: CanvasSim) => Promise<void>): Promise<void> {
  const sim = await startSim({ freezeClock: true, ...options });
  try {
    await run(sim);
  } finally {
    await sim.close();
  }
}

describe("leaky bucket headers", () => {
  it("every API response carries X-Request-Cost and X-Rate-Limit-Remaining as float strings", async () => {
    await withSim({}, async (sim) => {
      for (const path of ["/api/v1/courses", "/api/v1/courses/1/enrollments", "/api/v1/courses/99"]) {
        const result = await call(sim, path);
        expect(result.headers.get("x-request-cost")).toBe("0.01");
        expect(result.headers.get("x-rate-limit-remaining")).toMatch(/^-?\d+\.\d+$/);
      }
      const fresh = sim.admin.createDeveloperToken({ userId: 1 });
      const first = await call(sim, "/api/v1/users/self", { token: fresh });
      expect(first.headers.get("x-rate-limit-remaining")).toBe("599.99");
    });
  });

  it("charges per token: each token has its own bucket", async () => {
    await withSim({ throttle: { costPerRequest: 100 } }, async (sim) => {
      const a = await call(sim, "/api/v1/courses");
      const b = await call(sim, "/api/v1/courses", { token: sim.admin.createDeveloperToken({ userId: 1 }) });
      expect(a.headers.get("x-rate-limit-remaining")).toBe("500.0");
      expect(b.headers.get("x-rate-limit-remaining")).toBe("500.0");
      expect(sim.admin.rateLimitRemaining(sim.developerToken)).toBe(500);
    });
  });
});

describe("making the throttle bite", () => {
  it("refuses with 429 and Canvas's plain-text body once the bucket is full, then leaks at outflow/s", async () => {
    await withSim({ throttle: { costPerRequest: 100 } }, async (sim) => {
      const remaining: string[] = [];
      for (let i = 0; i < 6; i++) {
        const result = await call(sim, "/api/v1/courses");
        expect(result.status).toBe(200);
        remaining.push(result.headers.get("x-rate-limit-remaining")!);
      }
      expect(remaining).toEqual(["500.0", "400.0", "300.0", "200.0", "100.0", "0.0"]);
      const throttled = await call(sim, "/api/v1/courses");
      expect(throttled.status).toBe(429);
      expect(throttled.headers.get("content-type")).toBe("text/plain; charset=utf-8");
      expect(throttled.text).toBe("429 Too Many Requests (Rate Limit Exceeded)\n");
      expect(throttled.headers.get("x-rate-limit-remaining")).toBe("0.0");
      expect(throttled.headers.get("x-request-cost")).toBeNull();
      expect(throttled.headers.get("retry-after")).toBeNull();
      expect(sim.stats().throttled).toBe(1);
      sim.advanceClock(30); // 10 units/s leak 300
      const after = await call(sim, "/api/v1/courses");
      expect(after.status).toBe(200);
      expect(after.headers.get("x-rate-limit-remaining")).toBe("200.0");
    });
  });

  it("the legacy switch answers 403 Forbidden (Rate Limit Exceeded)", async () => {
    await withSim({ throttle: { costPerRequest: 600 }, throttleStatus: 403 }, async (sim) => {
      expect((await call(sim, "/api/v1/courses")).status).toBe(200);
      const throttled = await call(sim, "/api/v1/courses");
      expect(throttled.status).toBe(403);
      expect(throttled.text).toBe("403 Forbidden (Rate Limit Exceeded)\n");
      expect(throttled.headers.get("x-rate-limit-remaining")).toBe("0.0");
    });
  });

  it("remaining goes negative down to hwm - maximum", async () => {
    await withSim({ throttle: { costPerRequest: 5000 } }, async (sim) => {
      const result = await call(sim, "/api/v1/courses");
      expect(result.status).toBe(200);
      expect(result.headers.get("x-rate-limit-remaining")).toBe("-200.0");
    });
  });

  it("costPerRow makes big pages expensive", async () => {
    await withSim({ throttle: { costPerRequest: 0, costPerRow: 2 } }, async (sim) => {
      const result = await call(sim, "/api/v1/courses/1/enrollments?per_page=25");
      expect(result.headers.get("x-request-cost")).toBe("50.0");
    });
  });

  it("each in-flight request holds 50 units up front: the 12th concurrent request is refused", async () => {
    await withSim({}, async (sim) => {
      sim.faults.add({ fault: "slow", latencyMs: 400, route: "GET /api/v1/users/:id" });
      const results = await Promise.all(Array.from({ length: 14 }, () => call(sim, "/api/v1/users/self")));
      const statuses = results.map((result) => result.status);
      expect(statuses.filter((status) => status === 200)).toHaveLength(11);
      expect(statuses.filter((status) => status === 429)).toHaveLength(3);
      expect(sim.stats().peakConcurrency).toBeGreaterThanOrEqual(11);
    });
  });

  it("each token request costs 200 units (oauth_token_additional_request_cost)", async () => {
    await withSim({}, async (sim) => {
      const minted = sim.admin.mintOAuthTokens({ userId: 1 });
      const refresh = () => refreshGrant(sim, minted.refresh_token);
      const first = await refresh();
      expect(first.headers.get("x-request-cost")).toBe("200.01");
      expect(first.headers.get("x-rate-limit-remaining")).toBe("399.99");
      expect((await refresh()).headers.get("x-rate-limit-remaining")).toBe("199.98");
      expect((await refresh()).headers.get("x-rate-limit-remaining")).toBe("-0.03");
      expect((await refresh()).status).toBe(429);
    });
  });

  it("throttle: false never refuses but still reports the headers", async () => {
    await withSim({ throttle: false }, async (sim) => {
      for (let i = 0; i < 5; i++) {
        const minted = sim.admin.mintOAuthTokens({ userId: 1 });
        const result = await call(sim, "/login/oauth2/token", {
          token: null,
          form: {
            grant_type: "refresh_token",
            client_id: sim.clientId,
            client_secret: sim.clientSecret,
            refresh_token: minted.refresh_token,
          },
        });
        expect(result.status).toBe(200);
        expect(result.headers.get("x-rate-limit-remaining")).not.toBeNull();
      }
    });
  });
});

describe("/__sim/stats cost units and rows", () => {
  it("reports the cost it charged and the rows it served, per token and per route, with throttling off too", async () => {
    for (const throttle of [false, { costPerRequest: 0.5, costPerRow: 0.01 }] as const) {
      await withSim({ courses: 1, studentsPerCourse: 30, assignmentsPerCourse: 4, throttle }, async (sim) => {
        const other = sim.admin.createDeveloperToken({ userId: 1 });
        let charged = 0;
        const page = await call(sim, "/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=50");
        charged += Number(page.headers.get("x-request-cost"));
        const course = await call(sim, "/api/v1/courses/1", { token: other });
        charged += Number(course.headers.get("x-request-cost"));
        const stats = sim.stats();
        const perRow = throttle === false ? 0 : throttle.costPerRow;
        const perRequest = throttle === false ? 0.01 : throttle.costPerRequest;
        // 50 submissions, then one course object.
        expect(stats.rows.total).toBe(51);
        expect(stats.rows.byRoute["GET /api/v1/courses/:course_id/students/submissions"]).toBe(50);
        expect(stats.cost.total).toBeCloseTo(charged, 6);
        expect(stats.cost.total).toBeCloseTo(2 * perRequest + 51 * perRow, 6);
        expect(Object.values(stats.cost.byToken).sort()).toEqual(
          [perRequest + perRow, perRequest + 50 * perRow].map((v) => Math.round(v * 1e6) / 1e6).sort(),
        );
        sim.resetStats();
        expect(sim.stats().cost).toEqual({ total: 0, byToken: {}, byRoute: {} });
        expect(sim.stats().rows).toEqual({ total: 0, byRoute: {} });
      });
    }
  });

  it("a grouped submissions page counts its students and every submission in them", async () => {
    await withSim({ courses: 1, studentsPerCourse: 30, assignmentsPerCourse: 4 }, async (sim) => {
      const grouped = await call<unknown[]>(
        sim,
        "/api/v1/courses/1/students/submissions?student_ids[]=all&grouped=1&per_page=10",
      );
      expect(grouped.body).toHaveLength(10);
      expect(sim.stats().rows.total).toBe(10 + 10 * 4);
    });
  });

  it("a throttled request charges nothing and serves no rows", async () => {
    await withSim({ throttle: { costPerRequest: 700 } }, async (sim) => {
      expect((await call(sim, "/api/v1/courses/1")).status).toBe(200);
      expect((await call(sim, "/api/v1/courses/1")).status).toBe(429);
      expect(sim.stats().cost.total).toBe(700);
      expect(sim.stats().rows.total).toBe(1);
    });
  });
});
