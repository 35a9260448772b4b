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
