import { randomBytes } from "node:crypto";
import { generateKey } from "@easel/fernet";
import { startFakeVault } from "@easel/store-vault/testing";
import { afterAll, describe, expect, it } from "vitest";
import { easel, makeTempDir } from "./export-helpers.js";

const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";
const { dir: home, cleanup } = await makeTempDir();
const vault = await startFakeVault();
afterAll(async () => {
  await vault.close();
  await cleanup();
});

const record = {
  access_token: `7~${randomBytes(24).toString("hex")}`,
  token_type: "Bearer",
  refresh_token: `7~${randomBytes(24).toString("hex")}`,
  expires_at: Math.floor(Date.now() / 1000) + 3600,
  user: { id: 42, name: "Sync Robot" },
  canvas_region: "us-east-1",
};

describe("easel token across stores", () => {
  it("imports into Redis, exports with --reveal, imports into Vault: the same record, secrets never shown", async () => {
    const fernetKey = generateKey();
    const redisUri = `${REDIS_URL}/0?prefix=easel-cli-stores-${randomBytes(4).toString("hex")}:`;
    const vaultUri = `vault+${vault.url}/secret/easel/cli-${randomBytes(3).toString("hex")}`;
    const env = { EASEL_FERNET_KEY: fernetKey, VAULT_TOKEN: vault.rootToken };

    const imported = await easelWithInput(
      ["token", "import", "--store", redisUri, "--key", "nightly"],
      env,
      JSON.stringify(record),
    );
    expect(imported.status, imported.stderr).toBe(0);

    const shown = await easel(
      ["token", "show", "--store", redisUri, "--key", "nightly", "--json"],
      env,
      home,
    );
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).not.toContain(record.access_token);
    expect(shown.stdout).not.toContain(record.refresh_token);
    expect(JSON.parse(shown.stdout)).toMatchObject({ user: { id: 42 } });

    const refused = await easel(["token", "export", "--store", redisUri, "--key", "nightly"], env, home);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe("");

    const exported = await easel(
      ["token", "export", "--store", redisUri, "--key", "nightly", "--reveal"],
      env,
      home,
    );
    expect(exported.status, exported.stderr).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual(record);

    const intoVault = await easelWithInput(
      ["token", "import", "--store", vaultUri, "--key", "nightly"],
      env,
      exported.stdout,
    );
    expect(intoVault.status, intoVault.stderr).toBe(0);
    const fromVault = await easel(
      ["token", "export", "--store", vaultUri, "--key", "nightly", "--reveal"],
      env,
      home,
    );
    expect(fromVault.status, fromVault.stderr).toBe(0);
    expect(JSON.parse(fromVault.stdout)).toEqual(record);

    const vaultShown = await easel(["token", "show", "--store", vaultUri, "--key", "nightly"], env, home);
    expect(vaultShown.status, vaultShown.stderr).toBe(0);
    expect(vaultShown.stdout + vaultShown.stderr).not.toContain(vault.rootToken);
  });

  it("a sealed Vault is a clear STORE_UNAVAILABLE naming the address, exit 1", async () => {
    vault.seal();
    try {
      const uri = `vault+${vault.url}/secret/easel/sealed`;
      const result = await easel(["token", "show", "--store", uri], { VAULT_TOKEN: vault.rootToken }, home);
      expect(result.status).toBe(1);
      expect(result.stderr).toContain("STORE_UNAVAILABLE");
      expect(result.stderr).toContain(vault.url.replace("http://", ""));
      expect(result.stderr).not.toContain(vault.rootToken);
    } finally {
      vault.unseal();
    }
  });
});

/** `easel` with text on stdin (the shared helper closes stdin). */
async function easelWithInput(args: string[], env: Record<string, string>, input: string) {
  const { spawn } = await import("node:child_process");
  const { BIN } = await import("./export-helpers.js");
  return new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { PATH: process.env.PATH, HOME: home, ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d));
    child.stderr.on("data", (d: Buffer) => (stderr += d));
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(input);
  });
}
