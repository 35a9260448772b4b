import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { nestsDeeperThan } from "../src/nesting.js";
import { normalizeGatewayOptions } from "../src/options.js";
import { API_KEY, createGatewayLogger, LogCapture, serviceGateway, startSim } from "./helpers.js";

const GRAPHQL_RESPONSE = "application/graphql-response+json";
const ENDPOINT = "http://gateway.test/graphql";

let sim: CanvasSim;
let gateway: Gateway;
const log = new LogCapture();

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 3, assignmentsPerCourse: 1 });
  gateway = serviceGateway(sim, { logger: createGatewayLogger({ level: "debug" }, log) });
});
beforeEach(() => {
  sim.resetStats();
  log.lines.length = 0;
});
afterAll(async () => {
  await gateway?.close();
  await sim?.close();
});

const nested = (depth: number, open: string, close: string) => open.repeat(depth) + close.repeat(depth);

/** The reproduction: a list literal nested 2,500 deep in 10 KB. */
const DEEP_LIST = `{ course(id: "1") { students { nodes { submissions(assignmentIds: ${nested(2500, "[", "]")}) { score } } } } }`;

/** POSTs `body`; a header given as "" is left out (a Blob body then carries no content type). */
async function post(body: BodyInit | null, headers: Record<string, string> = {}) {
  const sent = new Headers({ "x-api-key": API_KEY, "content-type": "application/json" });
  for (const [name, value] of Object.entries(headers)) {
    if (value === "") sent.delete(name);
    else sent.set(name, value);
  }
  const response = await gateway.fetch(ENDPOINT, { method: "POST", headers: sent, body });
  const text = await response.text();
  let json: { errors?: Array<{ message: string; extensions?: Record<string, unknown> }> } | undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: response.status, text, json, codes: json?.errors?.map((e) => e.extensions?.code) };
}

/** Nothing logged above warn, and no stack anywhere: a client's bad request is not our failure. */
function expectQuietLog() {
  const loud = log.lines.filter((line) => (JSON.parse(line) as { level: number }).level >= 50);
  expect(loud, loud.join("\n")).toEqual([]);
  expect(log.text).not.toMatch(/"stack"|RangeError|Maximum call stack/);
}

describe("nesting is counted before the parser recurses", () => {
  it("the issue's 2,500-deep list: 400 QUERY_LIMIT_EXCEEDED, whatever the Accept, nothing logged", async () => {
    for (const accept of [undefined, "*/*", "application/json", GRAPHQL_RESPONSE]) {
      const result = await post(JSON.stringify({ query: DEEP_LIST }), accept ? { accept } : {});
      expect(result.status, `accept ${accept}`).toBe(400);
      expect(result.codes).toEqual(["QUERY_LIMIT_EXCEEDED"]);
      expect(result.json?.errors?.[0]?.message).toMatch(/nesting limit of 64/i);
    }
    // Selections and input objects the same way, and over GET.
    const selections = await post(JSON.stringify({ query: nested(3000, "{ viewer ", "}") }));
    expect([selections.status, selections.codes]).toEqual([400, ["QUERY_LIMIT_EXCEEDED"]]);
    const objects = await post(
      JSON.stringify({
        query: `mutation { setLastAttended(courseId: "1", studentId: "2", date: ${nested(3000, "{a:", "}")}) { id } }`,
      }),
    );
    expect([objects.status, objects.codes]).toEqual([400, ["QUERY_LIMIT_EXCEEDED"]]);
    const viaGet = await gateway.fetch(`${ENDPOINT}?query=${encodeURIComponent(DEEP_LIST)}`, {
      headers: { "x-api-key": API_KEY, accept: GRAPHQL_RESPONSE },
    });
    expect(viaGet.status).toBe(400);
    expect(await viaGet.json()).toMatchObject({ errors: [{ extensions: { code: "QUERY_LIMIT_EXCEEDED" } }] });
    expect(sim.stats().requests.total).toBe(0);
    expectQuietLog();
  });

  it("counts brackets outside strings, block strings and comments only", () => {
    expect(nestsDeeperThan("{ a { b } }", 2)).toBe(false);
    expect(nestsDeeperThan("{ a { b { c } } }", 2)).toBe(true);
    expect(nestsDeeperThan(`{ a(x: "${"[".repeat(100)}") }`, 2)).toBe(false);
    expect(nestsDeeperThan(`{ a(x: "\\"${"{".repeat(100)}") }`, 2)).toBe(false);
    expect(nestsDeeperThan(`{ a(x: """ \\""" ${"(".repeat(100)} """) }`, 2)).toBe(false);
    expect(nestsDeeperThan(`{ a # ${"[".repeat(100)}\n }`, 2)).toBe(false);
    // A string does not hide what follows it.
    expect(nestsDeeperThan(`{ a(x: "]]]") { b { c } } }`, 2)).toBe(true);
  });

  it("the limit is an option (limits.maxNesting), and the outside query fits the default", async () => {
    const strict = serviceGateway(sim, { limits: { maxNesting: 4 } });
    try {
      const response = await strict.fetch(ENDPOINT, {
        method: "POST",
        headers: { "x-api-key": API_KEY, "content-type": "application/json" },
        body: JSON.stringify({
          query: '{ course(id: "1") { students { nodes { grades { currentScore } } } } }',
        }),
      });
      expect(response.status).toBe(400);
      expect(await response.text()).toContain("Nesting limit of 4");
    } finally {
      await strict.close();
    }
    // A raised maxDepth raises the default with it, so deep selections still reach armor.
    const base = { mode: "service", canvasBaseUrl: sim.url, auth: "t", apiKeys: [API_KEY] } as const;
    expect(normalizeGatewayOptions(base).limits.maxNesting).toBe(64);
    expect(normalizeGatewayOptions({ ...base, limits: { maxDepth: 50 } }).limits.maxNesting).toBe(100);
    expect(() => normalizeGatewayOptions({ ...base, limits: { maxNesting: 1000 } })).toThrow(
      expect.objectContaining({ code: "ERR_INVALID_ARG_VALUE" }),
    );
  });
});

describe("no request body answers 5xx or logs a stack", () => {
  const deepVariables = `{"query":"query($a: [ID!]) { viewer { id } }","variables":{"a":${nested(20_000, "[", "]")}}}`;
  const bodies: Array<[string, BodyInit | null, Record<string, string>?]> = [
    ["empty", ""],
    ["invalid JSON", "{nope"],
    ["JSON null", "null"],
    ["a JSON string", '"{ viewer { id } }"'],
    ["query is a number", JSON.stringify({ query: 5 })],
    ["query is an object", JSON.stringify({ query: { a: 1 } })],
    ["variables is a string", JSON.stringify({ query: "{ viewer { id } }", variables: "x" })],
    ["variables is a list", JSON.stringify({ query: "{ viewer { id } }", variables: [1] })],
    ["operationName is a number", JSON.stringify({ query: "{ viewer { id } }", operationName: 5 })],
    ["operationName names nothing", JSON.stringify({ query: "{ viewer { id } }", operationName: "Nope" })],
    ["an unknown parameter", JSON.stringify({ query: "{ viewer { id } }", extra: 1 })],
    ["batched", JSON.stringify([{ query: "{ viewer { id } }" }, { query: "{ viewer { id } }" }])],
    ["huge", JSON.stringify({ query: `{ viewer { id } } #${"x".repeat(2_000_000)}` })],
    ["a long flat document", JSON.stringify({ query: `{ viewer { ${"id ".repeat(100_000)} } }` })],
    ["deeply nested list", JSON.stringify({ query: DEEP_LIST })],
    ["deeply nested selections", JSON.stringify({ query: nested(5000, "{ a ", "}") })],
    ["deeply nested JSON variables", deepVariables],
    ["a fragment cycle", JSON.stringify({ query: "{ ...A } fragment A on Query { ...A }" })],
    ["unknown media type", "<query/>", { "content-type": "application/xml" }],
    ["text/plain", JSON.stringify({ query: "{ viewer { id } }" }), { "content-type": "text/plain" }],
    ["no content type", new Blob([JSON.stringify({ query: "{ viewer { id } }" })]), { "content-type": "" }],
    [
      "multipart without operations",
      "--x\r\n\r\n--x--\r\n",
      { "content-type": "multipart/form-data; boundary=x" },
    ],
    ["broken form", "query=%E0%A4%A", { "content-type": "application/x-www-form-urlencoded" }],
  ];

  for (const accept of ["application/json", GRAPHQL_RESPONSE]) {
    it(`Accept: ${accept}`, async () => {
      for (const [name, body, headers = {}] of bodies) {
        const result = await post(body, { accept, ...headers });
        expect(result.status, `${name}: ${result.text.slice(0, 300)}`).toBeLessThan(500);
        expect(result.status, name).toBeGreaterThanOrEqual(200);
        expect(result.text, name).not.toMatch(/originalError|stack|RangeError/);
        expect(sim.stats().requests.total, name).toBe(0);
      }
      expectQuietLog();
    });
  }

  it("an invalid JSON body: 400 BAD_REQUEST, without the JSON parser's message echoing the body", async () => {
    for (const accept of ["application/json", GRAPHQL_RESPONSE]) {
      const result = await post('{"query": "secret-looking body', { accept });
      expect(result.status).toBe(400);
      expect(result.codes).toEqual(["BAD_REQUEST"]);
      expect(result.text).not.toContain("originalError");
      expect(result.text).not.toContain("secret-looking");
    }
    expectQuietLog();
  });
});

describe("bad arguments carry BAD_USER_INPUT", () => {
  const cases: Array<[string, string, Record<string, unknown>?]> = [
    ["first: -1", "{ courses(first: -1) { nodes { id } } }"],
    ["first: -1 in a variable", "query($n: Int) { courses(first: $n) { nodes { id } } }", { n: -1 }],
    ["a cursor that is not one", '{ courses(after: "not a cursor") { nodes { id } } }'],
    ["a variable of the wrong type", "query($n: Int) { courses(first: $n) { nodes { id } } }", { n: "ten" }],
    ["a required variable missing", "query($id: ID!) { course(id: $id) { id } }"],
  ];
  for (const [name, query, variables] of cases) {
    it(name, async () => {
      const result = await post(JSON.stringify({ query, variables }), { accept: GRAPHQL_RESPONSE });
      expect(result.codes, result.text).toEqual(["BAD_USER_INPUT"]);
      expect(result.status).toBe(400);
      expectQuietLog();
    });
  }
});

describe("status codes per media type (the README's table)", () => {
  const syntaxError = JSON.stringify({ query: "{ viewer { id " });
  const validationError = JSON.stringify({ query: "{ nope }" });
  const limitError = JSON.stringify({
    query: `{ ${Array.from({ length: 16 }, (_, i) => `a${i}: viewer { id }`).join(" ")} }`,
  });

  it("application/graphql-response+json: documents that fail to parse, validate or fit the limits get 400", async () => {
    expect((await post(syntaxError, { accept: GRAPHQL_RESPONSE })).status).toBe(400);
    expect((await post(validationError, { accept: GRAPHQL_RESPONSE })).status).toBe(400);
    const limit = await post(limitError, { accept: GRAPHQL_RESPONSE });
    expect([limit.status, limit.codes]).toEqual([400, ["QUERY_LIMIT_EXCEEDED"]]);
  });

  it("application/json (also no Accept, */*): the same documents get 200 with the errors, as the spec says", async () => {
    for (const accept of [undefined, "*/*", "application/json"]) {
      const headers: Record<string, string> = accept ? { accept } : {};
      const syntax = await post(syntaxError, headers);
      expect([syntax.status, syntax.codes]).toEqual([200, ["GRAPHQL_PARSE_FAILED"]]);
      const validation = await post(validationError, headers);
      expect([validation.status, validation.codes]).toEqual([200, ["GRAPHQL_VALIDATION_FAILED"]]);
      const limit = await post(limitError, headers);
      expect([limit.status, limit.codes]).toEqual([200, ["QUERY_LIMIT_EXCEEDED"]]);
    }
  });

  it("requests that are not well-formed: 400 BAD_REQUEST, 413, 415 for both", async () => {
    for (const accept of ["application/json", GRAPHQL_RESPONSE]) {
      expect((await post("{nope", { accept })).status).toBe(400);
      expect((await post("{}", { accept })).codes).toEqual(["BAD_REQUEST"]);
      expect((await post("{}", { accept })).status).toBe(400);
      expect((await post(JSON.stringify({ query: "x".repeat(1_100_000) }), { accept })).status).toBe(413);
      expect((await post("<a/>", { accept, "content-type": "application/xml" })).status).toBe(415);
    }
    expect((await post("{}", { accept: "application/xml" })).status).toBe(406);
  });
});
