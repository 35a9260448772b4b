import type { CanvasSim } from "@easel/canvas-sim";
import { serverAudits } from "graphql-http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Gateway, type RunningGateway, startGateway } from "../src/index.js";
import { API_KEY, serviceGateway, startSim } from "./helpers.js";

let sim: CanvasSim;
let gateway: Gateway;
let running: RunningGateway;

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 3, assignmentsPerCourse: 1 });
  // Some audits query `__type(name: $name)`: introspection must be on for them to mean anything
  // (its policy is tested in limits.test.ts; here it is the HTTP transport under audit).
  gateway = serviceGateway(sim, { introspection: true });
  running = await startGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY],
    introspection: true,
    logger: false,
    port: 0,
  });
});
afterAll(async () => {
  await running?.close();
  await gateway?.close();
  await sim?.close();
});

/** The audits' requests, with the API key every service-mode request needs. */
function fetchWithKey(input: RequestInfo | URL, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  headers.set("x-api-key", API_KEY);
  const url = input instanceof Request ? input.url : String(input);
  return gateway.fetch(url, {
    ...init,
    headers,
    ...(input instanceof Request ? { method: input.method } : {}),
  });
}

// graphql-http's GraphQL-over-HTTP conformance audits, run in-process (yoga.fetch, no port).
describe("GraphQL over HTTP (graphql-http serverAudits)", () => {
  for (const audit of serverAudits({ url: "http://gateway.test/graphql", fetchFn: fetchWithKey })) {
    const must = audit.name.startsWith("MUST");
    it(audit.name, async () => {
      const result = await audit.fn();
      if (must)
        expect(result.status, `${result.status}: ${"reason" in result ? result.reason : ""}`).toBe("ok");
      // SHOULD/MAY audits are recommendations: reported, never "error".
      else expect(["ok", "warn", "notice"]).toContain(result.status);
    });
  }
});

// The same audits from outside: over a real socket, through node:http, with the global fetch.
describe("GraphQL over HTTP over a real socket (graphql-http serverAudits)", () => {
  const overHttp = (input: RequestInfo | URL, init: RequestInit = {}) => {
    const headers = new Headers(init.headers);
    headers.set("x-api-key", API_KEY);
    return fetch(input, { ...init, headers });
  };
  it("every audit, MUST, SHOULD and MAY, is ok", async () => {
    const failing: string[] = [];
    for (const audit of serverAudits({ url: () => `${running.url}/graphql`, fetchFn: overHttp })) {
      const result = await audit.fn();
      if (result.status !== "ok")
        failing.push(`${result.status} ${audit.name}: ${"reason" in result ? result.reason : ""}`);
    }
    expect(failing).toEqual([]);
  });
});
