import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  type Gateway,
  operationsToRegister,
  TRUSTED_DOCUMENT_NOT_FOUND,
  TRUSTED_DOCUMENT_REQUIRED,
  trustedDocumentHash,
} from "../src/index.js";
import { API_KEY, OUTSIDE_QUERY, serviceGateway, startSim } from "./helpers.js";

const ROSTER = `query Roster($id: ID!) { course(id: $id) { name students(first: 5) { nodes { ...Who } } } }
fragment Who on Student { id name }`;

let sim: CanvasSim;
let dir: string;
let trusted: Gateway;
let rosterHash: string;

beforeAll(async () => {
  sim = await startSim({ courses: 1, studentsPerCourse: 5, assignmentsPerCourse: 1 });
  const { operations, problems } = operationsToRegister([{ name: "roster.graphql", body: ROSTER }]);
  expect(problems).toEqual([]);
  rosterHash = operations[0]!.hash;
  dir = mkdtempSync(join(tmpdir(), "easel-trusted-"));
  const manifest = join(dir, "operations.json");
  writeFileSync(manifest, JSON.stringify({ [rosterHash]: operations[0]!.document }));
  trusted = serviceGateway(sim, { trustedDocuments: manifest });
});
beforeEach(() => sim.resetStats());
afterAll(async () => {
  await trusted?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** POSTs any GraphQL-over-HTTP body (a hash instead of a query, or both). */
async function post(body: Record<string, unknown>) {
  const response = await trusted.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": API_KEY },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    body: (await response.json()) as {
      data?: { course?: { name: string; students: { nodes: Array<{ id: string }> } } };
      errors?: Array<{ message: string; extensions?: { code?: string } }>;
    },
  };
}

const byHash = (sha256Hash: string) => ({ extensions: { persistedQuery: { version: 1, sha256Hash } } });

describe("trusted documents: only registered operations run", () => {
  it("runs a registered document by its hash, with variables", async () => {
    const result = await post({ ...byHash(rosterHash), variables: { id: "1" } });
    expect(result.body.errors).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.body.data?.course?.students.nodes).toHaveLength(5);
    expect(sim.stats().requests.total).toBeGreaterThan(0);
  });

  it("runs it by GET too (a cacheable URL)", async () => {
    const url = new URL("http://gateway.test/graphql");
    url.searchParams.set("extensions", JSON.stringify(byHash(rosterHash).extensions));
    url.searchParams.set("variables", JSON.stringify({ id: "1" }));
    const response = await trusted.fetch(url, { headers: { "x-api-key": API_KEY } });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { errors?: unknown }).errors).toBeUndefined();
  });

  it("refuses an ad-hoc query with TRUSTED_DOCUMENT_REQUIRED, before any Canvas request", async () => {
    for (const body of [{ query: OUTSIDE_QUERY }, { query: ROSTER, ...byHash(rosterHash) }, {}]) {
      const result = await post(body);
      expect(result.status).toBe(400);
      expect(result.body.data).toBeUndefined();
      expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual([TRUSTED_DOCUMENT_REQUIRED]);
    }
    expect(sim.stats().requests.total).toBe(0);
  });

  it("refuses an unknown hash with TRUSTED_DOCUMENT_NOT_FOUND", async () => {
    const result = await post(byHash(trustedDocumentHash(OUTSIDE_QUERY)));
    expect(result.status).toBe(400);
    expect(result.body.errors?.map((e) => e.extensions?.code)).toEqual([TRUSTED_DOCUMENT_NOT_FOUND]);
    expect(sim.stats().requests.total).toBe(0);
  });

  it("refuses at start a manifest whose key is not its document's hash (tampered or hand-edited)", () => {
    const tampered = { [rosterHash]: ROSTER.replace("first: 5", "first: 1000") };
    expect(() => serviceGateway(sim, { trustedDocuments: tampered })).toThrow(
      expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
    );
    expect(() => serviceGateway(sim, { trustedDocuments: join(dir, "missing.json") })).toThrow(
      /"trustedDocuments" must be a readable manifest file/,
    );
  });
});

describe("operationsToRegister", () => {
  it("splits a file into one document per operation, each with only the fragments it spreads", () => {
    const { operations, problems } = operationsToRegister([
      {
        name: "two.graphql",
        body: `query A { viewer { ...V } } query B { courses { nodes { ...C } } }
               fragment V on User { id } fragment C on Course { id ...D } fragment D on Course { name }`,
      },
    ]);
    expect(problems).toEqual([]);
    expect(operations.map((o) => o.name)).toEqual(["A", "B"]);
    expect(operations[0]!.document).not.toContain("fragment C");
    expect(operations[1]!.document).toContain("fragment D on Course");
    for (const operation of operations) expect(operation.hash).toBe(trustedDocumentHash(operation.document));
  });

  it("reports every problem with its file and operation instead of registering it", () => {
    const { operations, problems } = operationsToRegister([
      { name: "bad.graphql", body: "query Bad { course(id: 1) { nope } }" },
      { name: "broken.graphql", body: "query {" },
      { name: "ok.graphql", body: "{ viewer { id } }" },
    ]);
    expect(operations.map((o) => o.source)).toEqual(["ok.graphql"]);
    expect(problems).toEqual([
      expect.stringMatching(/^bad\.graphql \(Bad\): .*nope/),
      expect.stringMatching(/^broken\.graphql: Syntax Error/),
    ]);
  });
});
