import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type Gateway } from "../src/index.js";
import { gql, OUTSIDE_QUERY, serviceGateway, startSim } from "./helpers.js";

let sim: CanvasSim;
let gateway: Gateway;
let strict: Gateway;
let open: Gateway;

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 5, assignmentsPerCourse: 2 });
  gateway = serviceGateway(sim);
  strict = serviceGateway(sim, { limits: { maxDepth: 4, maxCost: 500 } });
  open = serviceGateway(sim, { introspection: true });
});
beforeEach(() => sim.resetStats());
afterAll(async () => {
  await Promise.all([gateway, strict, open].map((g) => g.close()));
  await sim?.close();
});

/** A rejected document: 400, an error naming the limit, and not one Canvas request. */
async function expectRejected(on: Gateway, query: string, pattern: RegExp, code?: string) {
  const result = await gql(on, query);
  expect(result.status).toBe(400);
  expect(result.body.data).toBeUndefined();
  const matching = result.body.errors?.filter((e) => pattern.test(e.message)) ?? [];
  expect(matching.length, JSON.stringify(result.body.errors)).toBeGreaterThan(0);
  if (code) expect(matching[0]!.extensions?.code).toBe(code);
  expect(sim.stats().requests.total).toBe(0);
}

describe("abusive documents are refused before they run", () => {
  it("the default limits let the outside query through", async () => {
    expect(DEFAULT_LIMITS.maxDepth).toBeGreaterThanOrEqual(6);
    const result = await gql(gateway, OUTSIDE_QUERY);
    expect(result.status).toBe(200);
    expect(result.body.errors).toBeUndefined();
  });

  it("too deep", async () => {
    await expectRejected(strict, OUTSIDE_QUERY, /depth limit of 4 exceeded/i, "QUERY_LIMIT_EXCEEDED");
  });

  it("too costly (× first of each connection)", async () => {
    await expectRejected(
      strict,
      "{ courses(first: 100) { nodes { id name } } }",
      /cost limit of 500 exceeded/i,
      "QUERY_LIMIT_EXCEEDED",
    );
    await expectRejected(
      gateway,
      `{ courses(first: 1000) { nodes { students(first: 1000) { nodes { id name grades { currentScore finalScore } } } } } }`,
      /cost limit of 100000 exceeded/i,
    );
  });

  it("too many aliases", async () => {
    const aliases = Array.from(
      { length: DEFAULT_LIMITS.maxAliases + 1 },
      (_, i) => `a${i}: viewer { id }`,
    ).join(" ");
    await expectRejected(gateway, `{ ${aliases} }`, /aliases limit/i, "QUERY_LIMIT_EXCEEDED");
  });

  it("too many tokens", async () => {
    const fields = Array.from({ length: DEFAULT_LIMITS.maxTokens }, () => "id").join(" ");
    await expectRejected(gateway, `{ viewer { ${fields} } }`, /token limit/i);
  });

  it("too many directives", async () => {
    const directives = Array.from(
      { length: DEFAULT_LIMITS.maxDirectives + 1 },
      () => "@include(if: true)",
    ).join(" ");
    await expectRejected(
      gateway,
      `{ viewer { id ${directives} } }`,
      /directives limit/i,
      "QUERY_LIMIT_EXCEEDED",
    );
  });

  it("introspection is off by default, and field suggestions with it", async () => {
    await expectRejected(gateway, "{ __schema { types { name } } }", /introspection/i);
    const typo = await gql(gateway, "{ viewr { id } }");
    expect(typo.status).toBe(400);
    expect(typo.text).not.toMatch(/did you mean/i);
  });

  it("introspection can be turned on (the demo does)", async () => {
    const result = await gql(open, "{ __schema { queryType { name } } }");
    expect(result.body).toEqual({ data: { __schema: { queryType: { name: "Query" } } } });
  });

  it("operation batching is off: one HTTP request, one operation", async () => {
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": "test-key-0123456789abcdef" },
      body: JSON.stringify([{ query: "{ viewer { id } }" }, { query: "{ viewer { id } }" }]),
    });
    expect(response.status).toBeGreaterThanOrEqual(400);
    expect(sim.stats().requests.total).toBe(0);
  });
});
