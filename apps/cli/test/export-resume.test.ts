import { access, chmod, mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { openTokenStore } from "@easel/config";
import { readCheckpoint } from "@easel/export";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  BIN,
  easel,
  libraryExport,
  type Running,
  startEasel,
  startShell,
  startSim,
  waitWhileRunning,
} from "./export-helpers.js";

let sim: CanvasSim;
let dir: string;
const COURSES = [1, 2, 3, 4, 5, 6, 7, 8];
const SUBMISSIONS_ROUTE = "GET /api/v1/courses/:course_id/students/submissions";

const exists = (path: string) =>
  access(path).then(
    () => true,
    () => false,
  );

async function completedCourses(out: string): Promise<number> {
  try {
    return (await readCheckpoint(`${out}.checkpoint.json`))?.completed.length ?? 0;
  } catch {
    return 0; // mid-rename: try again
  }
}

/** `easel export submissions` of every course to `out`, as the tests below run it. */
function exportArgs(format: "csv" | "ndjson", out: string, ...extra: string[]): string[] {
  return ["export", "submissions", "--course", COURSES.join(","), "--format", format, "--out", out, ...extra];
}

/**
 * Runs `easel ...args` with slowed submission pages, so that it lasts; once `courses` courses are
 * committed to `out`, calls `interrupt` (kill it, revoke or expire its token). Returns how it ended.
 */
async function interruptAfter(
  courses: number,
  args: string[],
  env: Record<string, string>,
  out: string,
  interrupt: (running: Running) => void,
) {
  const slow = sim.faults.add({ fault: "slow", route: SUBMISSIONS_ROUTE, latencyMs: 200 });
  try {
    const running = startEasel(args, env, dir);
    await waitWhileRunning(
      running,
      async () => (await completedCourses(out)) >= courses,
      `${courses} committed course(s)`,
    );
    interrupt(running);
    return await running.done;
  } finally {
    for (const id of slow) sim.faults.remove(id);
  }
}

beforeAll(async () => {
  sim = await startSim({ seed: 21 });
  dir = tempDir("easel-cli-export-");
});

afterAll(async () => {
  await sim?.close();
});

describe("kill -9 mid-export, then --resume", () => {
  it("the final file equals a clean run's, byte for byte", async () => {
    const reference = join(dir, "clean.csv");
    await libraryExport(sim, "submissions", COURSES, "csv", reference);

    const out = join(dir, "killed.csv");
    const env = { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken };
    const args = exportArgs("csv", out, "--concurrency", "2");
    const killed = await interruptAfter(2, args, env, out, (running) => running.child.kill("SIGKILL"));
    expect(killed.signal).toBe("SIGKILL");
    const done = await completedCourses(out);
    expect(done).toBeGreaterThanOrEqual(2);
    expect(done).toBeLessThan(COURSES.length);
    expect(await exists(out)).toBe(false);
    expect(await exists(`${out}.partial`)).toBe(true);

    const resumed = await easel([...args, "--resume"], env, dir);
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`from 8/8 courses, ${done} from the earlier run`));
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true);
    expect(await exists(`${out}.partial`)).toBe(false);
    expect(await exists(`${out}.checkpoint.json`)).toBe(false);
    expect(await exists(`${out}.spool`)).toBe(false);
  });
});

describe("token revoked mid-export", () => {
  it("exits 3, keeps the partial, and the printed resume command works with a new token", async () => {
    const reference = join(dir, "clean-grades.ndjson");
    await libraryExport(sim, "submissions", COURSES, "ndjson", reference);

    const out = join(dir, "revoked.ndjson");
    const doomed = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "nightly" });
    const result = await interruptAfter(
      1,
      exportArgs("ndjson", out, "--concurrency", "2"),
      { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: doomed },
      out,
      () => expect(sim.admin.revokeToken(doomed)).toBe(true),
    );
    expect(result.status, result.stderr).toBe(3);
    expect(result.stderr).not.toContain(doomed);
    expect(await exists(out)).toBe(false);
    expect(await exists(`${out}.partial`)).toBe(true);
    const lines = result.stderr.split("\n");
    const command = lines[lines.indexOf("Then resume with:") + 1]?.trim();
    expect(command).toBe(
      `easel export submissions --course 1,2,3,4,5,6,7,8 --format ndjson --out ${out} --concurrency 2 --resume`,
    );

    // A user pastes the printed command into a shell, with a new token in place.
    const binDir = join(dir, "bin");
    await mkdir(binDir, { recursive: true });
    await writeFile(join(binDir, "easel"), `#!/bin/sh\nexec "${process.execPath}" "${BIN}" "$@"\n`);
    await chmod(join(binDir, "easel"), 0o755);
    const fresh = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "nightly, again" });
    const resumed = await startShell(
      command!,
      { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: fresh },
      binDir,
      dir,
    ).done;
    expect(resumed.status, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/from the earlier run/);
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true);
  });
});

describe("an OAuth record in a token store", () => {
  it("expiring mid-export is refreshed without a gap (one refresh), the file exact", async () => {
    const reference = join(dir, "clean-oauth.csv");
    await libraryExport(sim, "submissions", COURSES, "csv", reference);

    const storeDir = join(dir, "tokens");
    const fernetKey = generateKey();
    const storeUri = `file:${storeDir}/`;
    const minted = sim.admin.mintOAuthTokens({ userId: sim.data.adminUserId, expiresIn: 3600 });
    const store = await openTokenStore(storeUri, { fernetKeys: fernetKey });
    await store.set("nightly", {
      access_token: minted.access_token,
      token_type: "Bearer",
      refresh_token: minted.refresh_token,
      expires_at: Date.now() / 1000 + 3600,
      user: { id: minted.user.id },
    });
    await store.close();

    sim.resetStats();
    const out = join(dir, "oauth.csv");
    const env = {
      CANVAS_BASE_URL: sim.url,
      EASEL_TOKEN_STORE: storeUri,
      EASEL_FERNET_KEY: fernetKey,
      CANVAS_CLIENT_ID: sim.clientId,
      CANVAS_CLIENT_SECRET: sim.clientSecret,
    };
    // Two simulated hours after the first commit, Canvas answers 401 + WWW-Authenticate to the old token.
    // One course at a time, so courses are still to be read (one grouped page each) when it expires.
    const args = exportArgs("csv", out, "--key", "nightly", "--concurrency", "1");
    const result = await interruptAfter(1, args, env, out, () => sim.advanceClock(7200));
    expect(result.status, result.stderr).toBe(0);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(result.stderr).not.toContain(minted.access_token);
    expect((await readFile(out)).equals(await readFile(reference))).toBe(true);
  });
});
