import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, startSim } from "./export-helpers.js";

// The reproduction: OAuth tokens shorter than the 300 s refresh buffer, Canvas's throttle
// on (each refresh costs 200 units of the 600-unit bucket), every request slowed down. Before the
// fix every request refreshed first, the token endpoint answered 429 and the export exited 1
// (REFRESH_FAILED). 30 s tokens: Canvas's bucket leaks 10 units a second, so one refresh per
// 20 s is the most any client can sustain; a fifth of 30 s as buffer refreshes every 24 s.
const TTL_SECONDS = 30;

let sim: CanvasSim;
let dir: string;

beforeAll(async () => {
  sim = await startSim({
    seed: 7,
    courses: 4,
    studentsPerCourse: 40,
    assignmentsPerCourse: 15,
    throttle: {},
    tokenTtlSeconds: TTL_SECONDS,
    faults: "slow=1000:1.0",
  });
  dir = tempDir("easel-cli-export-");
});
afterAll(async () => {
  await sim?.close();
});

describe("an export over tokens shorter than the refresh buffer", () => {
  it("finishes, refreshing about once per token lifetime", async () => {
    const env = {
      CANVAS_BASE_URL: sim.url,
      CANVAS_CLIENT_ID: sim.clientId,
      CANVAS_CLIENT_SECRET: sim.clientSecret,
      EASEL_FERNET_KEY: generateKey(),
    };
    const store = `file:${join(dir, "d1.enc")}`;
    const record = await (await fetch(`${sim.url}/__sim/oauth/tokens`, { method: "POST" })).text();
    const imported = await easel(["token", "import", "--store", store], env, dir, record);
    expect(imported.status, imported.stderr).toBe(0);
    sim.resetStats();

    const started = performance.now();
    const run = await easel(
      [
        "export",
        "submissions",
        "--all-courses",
        "--concurrency",
        "1",
        "--format",
        "ndjson",
        "--out",
        join(dir, "d1.ndjson"),
        "--store",
        store,
        "--quiet",
      ],
      env,
      dir,
    );
    const seconds = (performance.now() - started) / 1000;
    expect(run.stderr).not.toContain("REFRESH_FAILED");
    expect(run.status, run.stderr).toBe(0);
    const grants = sim.stats().tokenGrants.refresh_token;
    // About one refresh per lifetime (refreshed a fifth of it before expiry), never one per request.
    expect(grants).toBeGreaterThanOrEqual(Math.floor(seconds / TTL_SECONDS));
    expect(grants).toBeLessThanOrEqual(Math.ceil(seconds / (TTL_SECONDS * 0.8)) + 1);
    expect(grants).toBeLessThan(sim.stats().requests.total / 2);
  });
});
