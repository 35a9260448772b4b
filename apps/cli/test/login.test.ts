import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startEasel, waitWhileRunning } from "./export-helpers.js";

let sim: CanvasSim;
let home: string;
let storeUri: string;
const fernetKey = generateKey();

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 17, courses: 1, studentsPerCourse: 5, throttle: false });
  home = await mkdtemp(join(tmpdir(), "easel-cli-login-"));
  storeUri = `file:${home}/tokens/`;
});
afterAll(async () => {
  await sim?.close();
  await rm(home, { recursive: true, force: true });
});

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "",
    HOME: home,
    CANVAS_BASE_URL: sim.url,
    CANVAS_CLIENT_ID: sim.clientId,
    CANVAS_CLIENT_SECRET: sim.clientSecret,
    EASEL_FERNET_KEY: fernetKey,
    ...extra,
  };
}

function start(args: string[], extraEnv: Record<string, string> = {}): Running {
  return startEasel(args, env(extraEnv), home);
}

function easel(args: string[], extraEnv: Record<string, string> = {}) {
  return start(args, extraEnv).done;
}

async function waitFor(predicate: () => string | undefined, what: string, run: Running): Promise<string> {
  let found: string | undefined;
  await waitWhileRunning(
    run,
    async () => {
      found = predicate();
      return found !== undefined;
    },
    what,
    20_000,
  );
  return found!;
}

/** Runs `easel login --no-browser` and approves the consent page the way a browser would. */
async function login(
  key: string,
): Promise<{ status: number | null; stdout: string; stderr: string; page: string }> {
  const run = start(["login", "--no-browser", "--store", storeUri, "--key", key, "--timeout", "30"]);
  const url = await waitFor(
    () => /https?:\/\/\S+\/login\/oauth2\/auth\?\S+/.exec(run.stdout())?.[0],
    "the authorization URL",
    run,
  );
  // The simulator approves (auto=1) and redirects to the CLI's loopback server; fetch follows.
  const response = await fetch(`${url}&auto=1`).catch(async (error: unknown) => {
    // Say why: the CLI's own account of what went wrong is on its stderr.
    const { stderr } = await run.done;
    throw new Error(`the consent redirect failed (${String(error)}); easel stderr: ${stderr}`, {
      cause: error,
    });
  });
  const page = await response.text();
  return { ...(await run.done), page };
}

async function storedRecord(key: string) {
  const store = await createTokenStore(storeUri, { fernetKeys: fernetKey });
  try {
    return await store.get(key);
  } finally {
    await store.close();
  }
}

describe("easel login / token refresh / logout against the simulator", () => {
  it("login --no-browser: prints the URL, receives the code on 127.0.0.1, exchanges it with PKCE and stores the record", async () => {
    const result = await login("default");
    expect(result.status).toBe(0);
    expect(result.page).toContain("Easel is authorized and the credential is stored");
    const authUrl = new URL(/https?:\/\/\S+\/login\/oauth2\/auth\?\S+/.exec(result.stdout)![0]);
    expect(authUrl.searchParams.get("code_challenge_method")).toBe("S256");
    expect(authUrl.searchParams.get("redirect_uri")).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    expect(result.stdout).toMatch(/Logged in to .* as .*\(id \d+\); stored under key "default"/);
    expect(sim.stats().tokenGrants.authorization_code).toBeGreaterThanOrEqual(1);

    const record = (await storedRecord("default"))!;
    expect(record.refresh_token).toEqual(expect.any(String));
    expect(record.canvas_region).toBe("unknown");
    // No secret on the terminal.
    for (const secret of [record.access_token, record.refresh_token!, sim.clientSecret]) {
      expect(result.stdout + result.stderr).not.toContain(secret);
    }

    const show = await easel(["token", "show", "--store", storeUri]);
    expect(show.status).toBe(0);
    expect(show.stdout).toContain(record.user!.name!);
    expect(show.stdout).not.toContain(record.access_token);
  });

  it("token refresh: refreshes under the lock and keeps the refresh token", async () => {
    const before = (await storedRecord("default"))!;
    const grants = sim.stats().tokenGrants.refresh_token;
    const result = await easel(["token", "refresh", "--store", storeUri]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Refreshed.");
    expect(sim.stats().tokenGrants.refresh_token).toBe(grants + 1);
    const after = (await storedRecord("default"))!;
    expect(after.access_token).not.toBe(before.access_token);
    expect(after.refresh_token).toBe(before.refresh_token);
  });

  it("revoked refresh token: exit 3 with the exact command to run, record kept", async () => {
    const before = (await storedRecord("default"))!;
    sim.admin.revokeToken(before.refresh_token!);
    const result = await easel(["token", "refresh", "--store", storeUri]);
    expect(result.status).toBe(3);
    expect(result.stderr).toContain("refresh_token not found");
    expect(result.stderr).toContain(`easel login --store ${storeUri}`);
    expect(await storedRecord("default")).toEqual(before);
  });

  it("logout: revokes at Canvas (or finds it already revoked) and deletes the record", async () => {
    const login2 = await login("second");
    expect(login2.status).toBe(0);
    const record = (await storedRecord("second"))!;
    const result = await easel(["logout", "--store", storeUri, "--key", "second"]);
    expect(result.status).toBe(0);
    expect(result.stdout).toContain("Canvas revoked the token");
    expect(await storedRecord("second")).toBeUndefined();
    const self = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${record.access_token}` },
    });
    expect(self.status).toBe(401);
  });

  it("token rotate regenerates a developer token; the old one stops working", async () => {
    const token = sim.admin.createDeveloperToken({ userId: 1 });
    const imported = await easel([
      "token",
      "import",
      "--store",
      storeUri,
      "--key",
      "dev",
      "--access-token",
      token,
    ]);
    expect(imported.status).toBe(0);
    const result = await easel(["token", "rotate", "--store", storeUri, "--key", "dev"]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
    const after = (await storedRecord("dev"))!;
    expect(after.access_token).not.toBe(token);
    expect(result.stdout).not.toContain(after.access_token);
    const old = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(old.status).toBe(401);
  });

  it("login needs a client id (exit 2), and --help shows examples", async () => {
    const missing = await easel(["login", "--no-browser", "--store", storeUri], { CANVAS_CLIENT_ID: "" });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("CANVAS_CLIENT_ID");
    const help = await easel(["login", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("--no-browser");
    expect(help.stdout).toContain("Examples:");
  });

  it("login times out when the browser never comes back (exit 1), without storing anything", async () => {
    const result = await easel([
      "login",
      "--no-browser",
      "--store",
      storeUri,
      "--key",
      "never",
      "--timeout",
      "0.5",
    ]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("No answer from the browser");
    expect(await storedRecord("never")).toBeUndefined();
  });
});
