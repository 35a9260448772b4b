import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel } from "./cli-helpers.js";
import { gatewayUrl, startEasel } from "./export-helpers.js";

const API_KEY = "a-service-api-key-0123456789";
const OPERATIONS = `query Roster($id: ID!) { course(id: $id) { name students { nodes { ...Who } } } }
query Me { viewer { id name } }
fragment Who on Student { id name }`;

let sim: CanvasSim;
let dir: string;

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 5, courses: 1, studentsPerCourse: 3, throttle: false });
  dir = tempDir();
  writeFileSync(join(dir, "roster.graphql"), OPERATIONS);
  writeFileSync(join(dir, "bad.graphql"), "query Bad { course(id: 1) { nope } }");
});
afterAll(async () => {
  await sim?.close();
});

function manifestAt(path: string): Record<string, string> {
  return JSON.parse(readFileSync(path, "utf8")) as Record<string, string>;
}

describe("easel gateway register-operations", () => {
  it("hashes each operation, writes the manifest, and refuses invalid ones without touching it", () => {
    const into = join(dir, "operations.json");
    const done = easel(["gateway", "register-operations", join(dir, "roster.graphql"), "--into", into]);
    expect(done.stderr).toContain("2 operation(s) registered");
    expect(done.status).toBe(0);
    const lines = done.stdout.trim().split("\n");
    expect(lines.map((line) => line.split(/\s+/)[1])).toEqual(["Roster", "Me"]);
    const manifest = manifestAt(into);
    expect(Object.keys(manifest).sort()).toEqual(lines.map((line) => line.split(/\s+/)[0]).sort());
    expect(Object.values(manifest).find((d) => d.includes("query Roster"))).toContain(
      "fragment Who on Student",
    );

    const refused = easel(["gateway", "register-operations", join(dir, "bad.graphql"), "--into", into]);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toMatch(/bad\.graphql \(Bad\): .*nope/);
    expect(manifestAt(into)).toEqual(manifest);
  });

  it("writes a manifest `easel serve` (EASEL_GATEWAY_TRUSTED_DOCUMENTS) accepts: the hash runs, an ad-hoc query does not", async () => {
    const into = join(dir, "served.json");
    const done = easel(["gateway", "register-operations", join(dir, "roster.graphql"), "--into", into]);
    expect(done.status).toBe(0);
    const rosterHash = done.stdout
      .split("\n")
      .find((line) => line.includes("Roster"))!
      .split(/\s+/)[0]!;
    const run = startEasel(
      ["serve", "--port", "0"],
      {
        CANVAS_BASE_URL: sim.url,
        CANVAS_ACCESS_TOKEN: sim.developerToken,
        EASEL_GATEWAY_KEYS: API_KEY,
        EASEL_GATEWAY_TRUSTED_DOCUMENTS: into,
      },
      tempDir(),
    );
    try {
      const base = await gatewayUrl(run);
      const post = async (body: unknown) => {
        const response = await fetch(`${base}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-api-key": API_KEY },
          body: JSON.stringify(body),
        });
        return {
          status: response.status,
          body: (await response.json()) as {
            data?: { course: { students: { nodes: unknown[] } } };
            errors?: Array<{ extensions?: { code?: string } }>;
          },
        };
      };
      const registered = await post({
        variables: { id: "1" },
        extensions: { persistedQuery: { version: 1, sha256Hash: rosterHash } },
      });
      expect(registered.body.errors).toBeUndefined();
      expect(registered.body.data?.course.students.nodes).toHaveLength(3);
      const adHoc = await post({ query: '{ course(id: "1") { name } }' });
      expect(adHoc.status).toBe(400);
      expect(adHoc.body.errors?.[0]?.extensions?.code).toBe("TRUSTED_DOCUMENT_REQUIRED");
    } finally {
      run.child.kill("SIGTERM");
      await run.done;
    }
  });
});
