import { randomBytes } from "node:crypto";
import { generateKey } from "@easel/fernet";
import { startFakeVault } from "@easel/store-vault/testing";
import { REDIS_URL, requireRedis, tempDir } from "@easel/test-utils";
import { afterAll, describe, expect, it } from "vitest";
import { easel } from "./export-helpers.js";

// Fails in CI when Redis is down; skips the Redis case with a warning elsewhere.
const redisUp = await requireRedis("the CLI's cross-store token case");
const home = tempDir("easel-cli-export-");
const vault = await startFakeVault();
afterAll(async () => {
  await vault.close();
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
  it.skipIf(!redisUp)(
    "imports into Redis, exports with --reveal, imports into Vault: the same record, secrets never shown",
    async () => {
      const fernetKey = generateKey();
      const redisUri = `${REDIS_URL}/0?prefix=easel-cli-stores-${randomBytes(4).toString("hex")}:`;
      const vaultUri = `vault+${vault.url}/secret/easel/cli-${randomBytes(3).toString("hex")}`;
      const env = { EASEL_FERNET_KEY: fernetKey, VAULT_TOKEN: vault.rootToken };

      /** `easel token VERB --store URI --key nightly ...`, with `input` on stdin when given. */
      const token = (verb: string, uri: string, extra: string[] = [], input?: string) =>
        easel(["token", verb, "--store", uri, "--key", "nightly", ...extra], env, home, input);

      const imported = await token("import", redisUri, [], JSON.stringify(record));
      expect(imported.status, imported.stderr).toBe(0);

      const shown = await token("show", redisUri, ["--json"]);
      expect(shown.status, shown.stderr).toBe(0);
      expect(shown.stdout).not.toContain(record.access_token);
      expect(shown.stdout).not.toContain(record.refresh_token);
      expect(JSON.parse(shown.stdout)).toMatchObject({ user: { id: 42 } });

      const refused = await token("export", redisUri);
      expect(refused.status).toBe(2);
      expect(refused.stdout).toBe("");

      const exported = await token("export", redisUri, ["--reveal"]);
      expect(exported.status, exported.stderr).toBe(0);
      expect(JSON.parse(exported.stdout)).toEqual(record);

      const intoVault = await token("import", vaultUri, [], exported.stdout);
      expect(intoVault.status, intoVault.stderr).toBe(0);
      const fromVault = await token("export", vaultUri, ["--reveal"]);
      expect(fromVault.status, fromVault.stderr).toBe(0);
      expect(JSON.parse(fromVault.stdout)).toEqual(record);

      const vaultShown = await token("show", vaultUri);
      expect(vaultShown.status, vaultShown.stderr).toBe(0);
      expect(vaultShown.stdout + vaultShown.stderr).not.toContain(vault.rootToken);
    },
  );

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
