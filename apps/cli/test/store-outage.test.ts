import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { type PrivateRedis, startPrivateRedis, tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, startEasel, startSim, waitWhileRunning } from "./export-helpers.js";

// Redis (the token store) killed mid-export: the token in memory is still good, so the export
// keeps going; it stops only when that token really expires with the store still down, with
// STORE_UNAVAILABLE, exit 1 and a resume command. Before the fix it stopped as soon as the token
// entered its refresh window, as EXPORT_COURSE_FAILED.
const TTL_SECONDS = 12;

let sim: CanvasSim;
let redis: PrivateRedis;
let dir: string;

beforeAll(async () => {
  sim = await startSim({
    seed: 7,
    // 400 students x 15 assignments: 8 requests a course (assignments, 7 grouped pages of 66
    // students), 700 ms each, so the export outlasts the 12 s token.
    courses: 3,
    studentsPerCourse: 400,
    assignmentsPerCourse: 15,
    tokenTtlSeconds: TTL_SECONDS,
    faults: "slow=700:1.0",
  });
  redis = await startPrivateRedis();
  dir = tempDir("easel-cli-export-");
});
afterAll(async () => {
  await redis?.kill();
  await sim?.close();
});

describe("a token store outage mid-export", () => {
  it("keeps working on the valid token, then stops resumably with STORE_UNAVAILABLE at expiry", async () => {
    const env = {
      CANVAS_BASE_URL: sim.url,
      CANVAS_CLIENT_ID: sim.clientId,
      CANVAS_CLIENT_SECRET: sim.clientSecret,
      EASEL_FERNET_KEY: generateKey(),
    };
    const store = `${redis.url}?prefix=outage:`;
    const importToken = async () => {
      const record = await (await fetch(`${sim.url}/__sim/oauth/tokens`, { method: "POST" })).text();
      const imported = await easel(["token", "import", "--store", store], env, dir, record);
      expect(imported.status, imported.stderr).toBe(0);
    };
    await importToken();
    const out = join(dir, "s.ndjson");
    const args = ["export", "submissions", "--all-courses", "--concurrency", "1", "--format", "ndjson"];
    args.push("--out", out, "--store", store, "--quiet");
    sim.resetStats();

    const started = performance.now();
    const run = startEasel(args, env, dir);
    await waitWhileRunning(run, async () => sim.stats().requests.total >= 2, "the first Canvas requests");
    await redis.kill();
    const stopped = await run.done;
    const seconds = (performance.now() - started) / 1000;

    expect(stopped.status, stopped.stderr).toBe(1);
    expect(stopped.stderr).toContain("[STORE_UNAVAILABLE]");
    expect(stopped.stderr).toContain("--resume");
    expect(stopped.stderr.match(/token store unreachable/g)).toHaveLength(1);
    // It worked on until the token ran out, not just until its refresh window (a fifth before).
    expect(seconds).toBeGreaterThan(TTL_SECONDS * 0.8);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);

    await redis.restart(); // a fresh, empty server: the record goes back in, then the export resumes
    await importToken();
    const resumed = await easel([...args, "--resume"], env, dir);
    expect(resumed.status, resumed.stderr).toBe(0);
  });
});
