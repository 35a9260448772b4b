import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type GatewayOptions } from "../src/index.js";
import { API_KEY, serviceGateway, startSim } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 4, assignmentsPerCourse: 2 });
});
afterAll(() => sim?.close());

const page = async (graphiql: GatewayOptions["graphiql"]) => {
  const gateway = serviceGateway(sim, { graphiql });
  try {
    const response = await gateway.fetch("http://gateway.test/graphql", { headers: { accept: "text/html" } });
    expect(response.status).toBe(200);
    return await response.text();
  } finally {
    await gateway.close();
  }
};

describe("GraphiQL headers", () => {
  it("pre-fills the headers editor only when asked, and never persists them", async () => {
    const prefilled = await page({ dangerouslyPrefillHeaders: { "x-api-key": API_KEY } });
    const options = /renderYogaGraphiQL\(\s*[^,]+,\s*(\{.*\}),\s*\);/s.exec(prefilled)?.[1];
    expect(JSON.parse(options!)).toMatchObject({
      headers: JSON.stringify({ "x-api-key": API_KEY }, null, 2),
      shouldPersistHeaders: false,
    });
    // The gateway's API keys never reach a page that was not given them.
    expect(await page(true)).not.toContain(API_KEY);
  });

  it("refuses prefilled headers that are not strings, without echoing them", () => {
    const attempt = () =>
      createGateway({
        mode: "service",
        canvasBaseUrl: sim.url,
        auth: sim.developerToken,
        apiKeys: [API_KEY],
        graphiql: { dangerouslyPrefillHeaders: { "x-api-key": 42 } as unknown as Record<string, string> },
        logger: false,
      });
    expect(attempt).toThrow(expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }));
    expect(attempt).toThrow(/graphiql\.dangerouslyPrefillHeaders.*\(value hidden\)/);
  });
});
