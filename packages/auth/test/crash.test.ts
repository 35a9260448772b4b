import { spawn } from "node:child_process";
import { readdir } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { tempDir } from "@easel/test-utils";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oauth, ReauthorizationRequiredError, TokenAdmin, TokenManager } from "../src/index.js";
import { canvasGet, FIXTURES } from "./helpers.js";

const fernetKey = generateKey();
let sim: CanvasSim;
let dir: string;
let uri: string;
let store: TokenStore;

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 9, courses: 1, studentsPerCourse: 5, throttle: false });
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(async () => {
  dir = tempDir("easel-auth-");
  uri = `file:${dir}/tokens/`;
  store = await createTokenStore(uri, { fernetKeys: fernetKey });
});
afterEach(async () => {
  await store.close();
});

/**
 * Runs the crash child until it says the token endpoint answered and the store write began,
 * then kills it with SIGKILL `delayMs` later (a sweep of delays lands before, inside and after the
 * atomic write). Returns whether it got to say "stored".
 */
async function refreshAndKill(
  clientId: string,
  clientSecret: string,
  delayMs: number,
): Promise<{ storedBeforeKill: boolean }> {
  const child = spawn(process.execPath, [fileURLToPath(new URL("crash-child.mjs", FIXTURES))], {
    env: {
      ...process.env,
      SIM_URL: sim.url,
      CLIENT_ID: clientId,
      CLIENT_SECRET: clientSecret,
      STORE_URI: uri,
      FERNET_KEY: fernetKey,
      TOKEN_KEY: "default",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      if (stdout.includes("answered")) resolve();
    });
    exited.then(() => reject(new Error(`crash child exited before the token endpoint answered: ${stderr}`)));
  });
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
  child.kill("SIGKILL");
  await exited;
  return { storedBeforeKill: stdout.includes("stored") };
}

function expiredCopy(record: TokenRecord): TokenRecord {
  return { ...record, expires_at: Date.now() / 1000 - 10 };
}

describe("kill -9 between the token endpoint's answer and the end of the store write", () => {
  it("confidential client: the store holds the old or the new record, never a broken one, and refreshing again works", async () => {
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      dangerouslyAllowInsecureHttp: true,
    });
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    let current: TokenRecord = expiredCopy({ ...minted });
    await store.set("default", current);
    const outcomes = { old: 0, new: 0 };
    const delays = [0, 0, 1, 2, 4, 7, 12, 25];
    for (const delayMs of delays) {
      sim.resetStats();
      await refreshAndKill(sim.clientId, sim.clientSecret, delayMs);
      expect(sim.stats().tokenGrants.refresh_token).toBe(1);

      // Readable, and exactly one of the two records.
      const after = (await store.get("default"))!;
      expect(after.refresh_token).toBe(minted.refresh_token);
      if (after.access_token === current.access_token) {
        expect(after).toEqual(current);
        outcomes.old++;
      } else {
        expect(after.expires_at).toBeGreaterThan(Date.now() / 1000);
        outcomes.new++;
      }

      // The next run: takes over the dead process's lock, refreshes again with the same
      // (reusable) refresh token, and the new access token works.
      const manager = new TokenManager(strategy, store, { lockTtlMs: 400, lockWaitMs: 10_000 });
      await new TokenAdmin(manager).refresh();
      const fresh = (await store.get("default"))!;
      expect((await canvasGet(`${sim.url}/api/v1/users/self`, fresh.access_token)).status).toBe(200);
      current = expiredCopy(fresh);
      await store.set("default", current);
    }
    expect(outcomes.old + outcomes.new).toBe(delays.length);
    // Killed writers leave temp files only: no torn record. A process's first write sweeps them.
    const fresh = await createTokenStore(uri, { fernetKeys: fernetKey });
    await fresh.set("default", current);
    await fresh.close();
    const files = await readdir(`${dir}/tokens`);
    expect(files.filter((f) => f.includes(".tmp."))).toEqual([]);
  });

  it("public client (rotating refresh tokens): the old record then needs a new login, and the error says why", async () => {
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.publicClientId,
      dangerouslyAllowInsecureHttp: true,
    });
    const seen = { old: 0, new: 0 };
    for (const delayMs of [0, 3, 12, 40]) {
      const minted = sim.admin.mintOAuthTokens({ userId: 1, clientId: sim.publicClientId });
      const before = expiredCopy({ ...minted });
      await store.set("default", before);
      await refreshAndKill(sim.publicClientId, "", delayMs);
      const after = (await store.get("default"))!;
      const manager = new TokenManager(strategy, store, { lockTtlMs: 400, lockWaitMs: 10_000 });
      if (after.access_token === before.access_token) {
        seen.old++;
        expect(after).toEqual(before);
        const error = await new TokenAdmin(manager).refresh().catch((e: unknown) => e);
        expect(error).toBeInstanceOf(ReauthorizationRequiredError);
        expect((error as ReauthorizationRequiredError).remedy).toBe("easel login");
        expect((error as Error).message).toMatch(/rotates refresh tokens.*died after Canvas answered/);
        expect(await store.get("default")).toEqual(before);
      } else {
        seen.new++;
        expect(after.refresh_token).not.toBe(minted.refresh_token);
        await new TokenAdmin(manager).refresh();
        const fresh = (await store.get("default"))!;
        expect((await canvasGet(`${sim.url}/api/v1/users/self`, fresh.access_token)).status).toBe(200);
      }
    }
    expect(seen.old + seen.new).toBe(4);
  });
});
