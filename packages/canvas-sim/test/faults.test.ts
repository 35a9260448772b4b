import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type CanvasSim, parseFaultSpec } from "../src/index.js";
import { call, refreshGrant, startSim } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ throttle: false });
});
afterAll(() => sim.close());
afterEach(() => sim.faults.clear());

describe("fault kinds", () => {
  it("500 answers Canvas's JSON error; 502 and 503 a proxy's HTML", async () => {
    sim.faults.add([
      { fault: "500", times: 1 },
      { fault: "502", times: 1 },
      { fault: "503", times: 1 },
    ]);
    const r500 = await call(sim, "/api/v1/courses");
    expect(r500.status).toBe(500);
    expect(r500.body).toEqual({ errors: [{ message: "An error occurred." }], error_report_id: 1 });
    const r502 = await call(sim, "/api/v1/courses");
    expect(r502.status).toBe(502);
    expect(r502.text).toContain("502 Bad Gateway");
    const r503 = await call(sim, "/api/v1/courses");
    expect(r503.status).toBe(503);
    expect((await call(sim, "/api/v1/courses")).status).toBe(200);
  });

  it("401-expired answers 'Invalid access token.' with WWW-Authenticate", async () => {
    sim.faults.add({ fault: "401-expired", times: 1 });
    const result = await call(sim, "/api/v1/courses");
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe('Bearer realm="canvas-lms"');
    expect(result.body).toEqual({ errors: [{ message: "Invalid access token." }] });
  });

  it("403-throttled and 429 answer the throttled bodies with X-Rate-Limit-Remaining 0.0", async () => {
    sim.faults.add([
      { fault: "403-throttled", times: 1 },
      { fault: "429", times: 1 },
    ]);
    const legacy = await call(sim, "/api/v1/courses");
    expect([legacy.status, legacy.text]).toEqual([403, "403 Forbidden (Rate Limit Exceeded)\n"]);
    expect(legacy.headers.get("x-rate-limit-remaining")).toBe("0.0");
    const current = await call(sim, "/api/v1/courses");
    expect([current.status, current.text]).toEqual([429, "429 Too Many Requests (Rate Limit Exceeded)\n"]);
  });

  it("slow delays the response by latencyMs", async () => {
    sim.faults.add({ fault: "slow", latencyMs: 250, times: 1 });
    const started = performance.now();
    const result = await call(sim, "/api/v1/courses");
    expect(result.status).toBe(200);
    expect(performance.now() - started).toBeGreaterThanOrEqual(240);
  });

  it("drop destroys the connection without a response", async () => {
    sim.faults.add({ fault: "drop", times: 1 });
    await expect(
      fetch(`${sim.url}/api/v1/courses`, { headers: { Authorization: `Bearer ${sim.developerToken}` } }),
    ).rejects.toThrow();
    expect(sim.stats().requests.byStatus.dropped).toBe(1);
    expect((await call(sim, "/api/v1/courses")).status).toBe(200);
  });

  it("truncate sends part of the body and closes the connection", async () => {
    sim.faults.add({ fault: "truncate", times: 1 });
    const response = await fetch(`${sim.url}/api/v1/courses`, {
      headers: { Authorization: `Bearer ${sim.developerToken}` },
    });
    expect(response.status).toBe(200);
    await expect(response.text()).rejects.toThrow();
  });

  it("malformed sends a 200 application/json body that is not JSON", async () => {
    sim.faults.add({ fault: "malformed", times: 1 });
    const response = await fetch(`${sim.url}/api/v1/courses`, {
      headers: { Authorization: `Bearer ${sim.developerToken}` },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toContain("application/json");
    const text = await response.text();
    expect(() => JSON.parse(text)).toThrow();
  });
});

describe("fault targeting", () => {
  it("matches a route template or a path pattern, and only that", async () => {
    sim.faults.add({ fault: "503", route: "GET /api/v1/courses/:course_id/enrollments" });
    expect((await call(sim, "/api/v1/courses/1/enrollments")).status).toBe(503);
    expect((await call(sim, "/api/v1/courses/1/assignments")).status).toBe(200);
    sim.faults.clear();
    sim.faults.add({ fault: "500", route: "/api/v1/courses/*/assignments" });
    expect((await call(sim, "/api/v1/courses/2/assignments")).status).toBe(500);
    expect((await call(sim, "/api/v1/courses/2")).status).toBe(200);
  });

  it("never touches /__sim nor OAuth endpoints unless a rule names them", async () => {
    sim.faults.add({ fault: "500" });
    expect((await fetch(`${sim.url}/__sim/stats`)).status).toBe(200);
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const refresh = () => refreshGrant(sim, minted.refresh_token);
    expect((await refresh()).status).toBe(200);
    sim.faults.clear();
    sim.faults.add({ fault: "503", route: "POST /login/oauth2/token", times: 1 });
    expect((await refresh()).status).toBe(503);
    expect((await refresh()).status).toBe(200);
  });

  it("probabilities draw from the seeded RNG: the same seed gives the same faults", async () => {
    const runs: number[][] = [];
    for (let run = 0; run < 2; run++) {
      const seeded = await startSim({ seed: 42, throttle: false, faults: "5xx:0.3,throttle:0.1" });
      try {
        const statuses: number[] = [];
        for (let i = 0; i < 40; i++) statuses.push((await call(seeded, "/api/v1/courses")).status);
        runs.push(statuses);
        expect(seeded.stats().faults.injected).toBe(statuses.filter((status) => status !== 200).length);
      } finally {
        await seeded.close();
      }
    }
    expect(runs[0]).toEqual(runs[1]);
    const faulted = runs[0]!.filter((status) => status !== 200);
    expect(faulted.length).toBeGreaterThan(5);
    expect(faulted.length).toBeLessThan(35);
    expect(new Set(faulted).size).toBeGreaterThan(1);
  });

  it("is driven over HTTP by POST/GET/DELETE /__sim/faults", async () => {
    const added = await fetch(`${sim.url}/__sim/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ spec: "502:x2@GET /api/v1/courses" }),
    });
    expect(((await added.json()) as { ids: number[] }).ids).toHaveLength(1);
    const listed = (await (await fetch(`${sim.url}/__sim/faults`)).json()) as Array<{
      fault: string;
      times: number;
    }>;
    expect(listed[0]).toMatchObject({ fault: "502", times: 2 });
    expect((await call(sim, "/api/v1/courses")).status).toBe(502);
    await fetch(`${sim.url}/__sim/faults`, { method: "DELETE" });
    expect((await call(sim, "/api/v1/courses")).status).toBe(200);
    const rule = await fetch(`${sim.url}/__sim/faults`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ fault: "401-expired", times: 1 }),
    });
    expect(rule.status).toBe(200);
    expect((await call(sim, "/api/v1/courses")).status).toBe(401);
  });
});

describe("parseFaultSpec", () => {
  it("parses the --faults string form", () => {
    expect(parseFaultSpec("5xx:0.03,drop:0.01,throttle:0.02,slow:0.05")).toEqual([
      { fault: "5xx", probability: 0.03 },
      { fault: "drop", probability: 0.01 },
      { fault: "throttle", probability: 0.02 },
      { fault: "slow", probability: 0.05 },
    ]);
    expect(parseFaultSpec("slow=800:x2@/api/v1/courses/*, 401-expired")).toEqual([
      { fault: "slow", latencyMs: 800, times: 2, route: "/api/v1/courses/*" },
      { fault: "401-expired" },
    ]);
  });

  it("rejects bad specs with a TypeError carrying ERR_INVALID_ARG_VALUE", () => {
    for (const spec of ["bogus:0.1", "5xx:2", "slow=fast:0.1"]) {
      expect(() => parseFaultSpec(spec)).toThrow(
        expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
      );
    }
  });
});
