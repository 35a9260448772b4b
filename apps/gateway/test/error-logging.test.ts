import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/index.js";
import { API_KEY, createGatewayLogger, LogCapture, startSim } from "./helpers.js";

/** A client's mistake is one warn line without a stack; a server fault is an error line with one. */
let sim: CanvasSim;
let running: RunningGateway;
const logs = new LogCapture();

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 6, assignmentsPerCourse: 2 });
  running = await startGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY],
    // The demo's level: only warnings and errors reach the terminal.
    logger: createGatewayLogger({ level: "warn" }, logs),
    canvasClient: { retry: { retries: 0, rateLimitRetries: 0, minDelayMs: 1, maxDelayMs: 5 } },
    port: 0,
  });
});

afterAll(async () => {
  await running?.close();
  await sim?.close();
});

/** POSTs over real HTTP and returns the log lines of that request (by its request id). */
async function linesOf(query: string, requestId: string) {
  const response = await fetch(`${running.url}/graphql`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY, "x-request-id": requestId },
    body: JSON.stringify({ query }),
  });
  const body = (await response.json()) as { errors?: Array<{ extensions?: { code?: string } }> };
  const lines = logs.lines
    .filter((line) => line.includes(requestId))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { body, lines, text: lines.map((line) => JSON.stringify(line)).join("\n") };
}

describe("error log lines", () => {
  it("an unknown course is one warn line naming the code and the Canvas 404, with no stack", async () => {
    const { body, lines, text } = await linesOf('{ course(id: "999") { name } }', "unknown-course");
    expect(body.errors?.[0]?.extensions?.code).toBe("NOT_FOUND");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 40,
      msg: "request",
      status: 404,
      clientErrorCount: 1,
      clientErrors: [{ code: "NOT_FOUND", path: "course" }],
    });
    expect(String((lines[0]!.clientErrors as Array<{ detail: string }>)[0]!.detail)).toContain(
      "/api/v1/courses/999 answered 404",
    );
    expect(text).not.toMatch(/stack|\n\s+at /);
  });

  it("a bad argument is one warn line, with no stack", async () => {
    const { body, lines, text } = await linesOf('{ course(id: "abc") { name } }', "bad-argument");
    expect(body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 40, clientErrors: [{ code: "BAD_USER_INPUT", path: "course" }] });
    expect(text).not.toContain("stack");
  });

  it("a document that does not validate is one warn line, with no stack", async () => {
    const { body, lines: fresh } = await linesOf('{ course(id: "1") { nosuchfield } }', "invalid-document");
    expect(body.errors?.[0]?.extensions?.code).toBe("GRAPHQL_VALIDATION_FAILED");
    expect(fresh).toHaveLength(1);
    expect(fresh[0]).toMatchObject({
      level: 40,
      msg: "request",
      clientErrors: [{ code: "GRAPHQL_VALIDATION_FAILED" }],
    });
    expect(JSON.stringify(fresh)).not.toContain("stack");
  });

  it("a server fault (Canvas 500) is an error line with the original error's stack", async () => {
    sim.faults.add("500:x1@GET /api/v1/courses/:id");
    const { body, lines } = await linesOf('{ course(id: "2") { name } }', "server-fault");
    expect(body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    const faults = lines.filter((line) => line.level === 50);
    expect(faults).toHaveLength(1);
    expect(faults[0]).toMatchObject({ msg: "graphql error", graphqlPath: "course" });
    expect(String((faults[0]!.err as { stack?: string }).stack)).toMatch(/\n\s+at /);
    // The request line itself carries no client mistake.
    expect(lines.some((line) => "clientErrors" in line)).toBe(false);
  });
});
