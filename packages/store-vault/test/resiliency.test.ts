import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import { inspect } from "node:util";
import { freePort, runNode } from "@easel/test-utils";
import {
  CORRUPT_RECORD,
  STORE_AUTH_FAILED,
  STORE_CONFLICT,
  STORE_UNAVAILABLE,
  type TokenRecord,
  type TokenStoreError,
} from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore, type VaultStoreOptions, type VaultTokenStore } from "../src/index.js";
import { type FakeVault, startFakeVault } from "../src/testing.js";

let vault: FakeVault;
let run = 0;
const opened: VaultTokenStore[] = [];
/** Every error a test provoked: the last test proves none of them carries a secret. */
const provoked: unknown[] = [];
const RECORD_SECRET = "canvas-access-token-that-must-not-leak";
const secrets: string[] = [RECORD_SECRET];

beforeAll(async () => {
  vault = await startFakeVault();
  secrets.push(vault.rootToken);
});
afterAll(async () => {
  await Promise.all(opened.map((s) => s.close()));
  await vault.close();
});

const freshUri = (base = vault.url) => `vault+${base}/secret/resiliency/${++run}`;
async function open(env: Record<string, string>, uri = freshUri(), options: VaultStoreOptions = {}) {
  const store = await createTokenStore(uri, { env, ...options });
  opened.push(store);
  return store;
}
const withRoot = (uri?: string, options?: VaultStoreOptions) =>
  open({ VAULT_TOKEN: vault.rootToken }, uri, options);
const record = (access_token: string): TokenRecord => ({ access_token, token_type: "Bearer" });

async function failure(promise: Promise<unknown>): Promise<TokenStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error, "expected a rejection").toBeInstanceOf(Error);
  provoked.push(error);
  return error as TokenStoreError;
}

describe("Vault unavailable", () => {
  it("sealed -> STORE_UNAVAILABLE naming the Vault address; unsealed -> the same store recovers", async () => {
    const store = await withRoot();
    await store.set("k", record(RECORD_SECRET));
    vault.seal();
    try {
      const error = await failure(store.get("k"));
      expect(error.code).toBe(STORE_UNAVAILABLE);
      expect(error.message).toContain(vault.url);
      expect(error.message).toMatch(/sealed/);
      expect((await failure(store.set("k", record(`${RECORD_SECRET}-2`)))).code).toBe(STORE_UNAVAILABLE);
      expect((await failure(store.withLock("k", async () => 1))).code).toBe(STORE_UNAVAILABLE);
    } finally {
      vault.unseal();
    }
    expect(await store.get("k")).toEqual(record(RECORD_SECRET));
    await store.set("k", record("after"));
    expect(await store.get("k")).toEqual(record("after"));
  });

  it("connection refused -> STORE_UNAVAILABLE within a second", async () => {
    const port = await freePort(); // nothing listens there
    const store = await withRoot(`vault+http://127.0.0.1:${port}/secret/x`);
    const started = performance.now();
    const error = await failure(store.get("k"));
    expect(performance.now() - started).toBeLessThan(1_000);
    expect(error.code).toBe(STORE_UNAVAILABLE);
    expect(error.message).toContain(`http://127.0.0.1:${port}`);
    expect(error.message).toContain("ECONNREFUSED");
  });

  it("a Vault that does not answer -> STORE_UNAVAILABLE after timeoutMs, not a hang", async () => {
    const store = await withRoot(undefined, { timeoutMs: 200 });
    vault.setResponseDelay(3_000);
    try {
      const started = performance.now();
      const error = await failure(store.get("k"));
      expect(performance.now() - started).toBeLessThan(1_500);
      expect(error.code).toBe(STORE_UNAVAILABLE);
      expect(error.message).toMatch(/did not answer .* within 200 ms/);
    } finally {
      vault.setResponseDelay(0);
    }
  });

  it("VAULT_CLIENT_TIMEOUT sets the timeout when timeoutMs is not given", async () => {
    const store = await open({ VAULT_TOKEN: vault.rootToken, VAULT_CLIENT_TIMEOUT: "150ms" });
    vault.setResponseDelay(2_000);
    try {
      expect((await failure(store.get("k"))).message).toMatch(/within 150 ms/);
    } finally {
      vault.setResponseDelay(0);
    }
  });

  it("429 and 412 (not applied) are retried with backoff; the call then succeeds", async () => {
    const store = await withRoot();
    await store.set("k", record("v"));
    vault.injectFault({ status: 429, times: 2, match: "/v1/secret/" });
    vault.injectFault({ status: 412, match: "/v1/secret/" });
    expect(await store.get("k")).toEqual(record("v"));
  });

  it("a 200 whose body is not JSON -> CORRUPT_RECORD, not 'no token'", async () => {
    const server = createServer((_req, res) =>
      res.writeHead(200, { "Content-Type": "text/html" }).end("<html>"),
    );
    const url = await listen(server);
    try {
      const store = await withRoot(`vault+${url}/secret/x`);
      expect((await failure(store.get("k"))).code).toBe(CORRUPT_RECORD);
    } finally {
      server.close();
    }
  });

  it("a stored secret that is not a token record -> CORRUPT_RECORD, and it is left untouched", async () => {
    const uri = freshUri();
    const store = await withRoot(uri);
    await fetch(`${vault.url}/v1/secret/data/resiliency/${run}/k`, {
      method: "POST",
      headers: { "X-Vault-Token": vault.rootToken },
      body: JSON.stringify({ data: { not: "a token" } }),
    });
    expect((await failure(store.get("k"))).code).toBe(CORRUPT_RECORD);
    expect(vault.readSecret(`secret/resiliency/${run}/k`)?.data).toEqual({ not: "a token" });
  });
});

describe("auth failures", () => {
  it("an unknown token -> STORE_AUTH_FAILED that says to fix VAULT_TOKEN", async () => {
    const store = await open({ VAULT_TOKEN: "hvs.not-a-real-token-1234" });
    secrets.push("hvs.not-a-real-token-1234");
    const error = await failure(store.get("k"));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toMatch(/VAULT_TOKEN.*invalid, expired or revoked/);
  });

  it("a token that expires on the fake clock -> STORE_AUTH_FAILED", async () => {
    const token = vault.createToken({ ttlSeconds: 30 });
    secrets.push(token);
    const store = await open({ VAULT_TOKEN: token });
    await store.set("k", record("v"));
    vault.advanceClock(31);
    expect((await failure(store.get("k"))).code).toBe(STORE_AUTH_FAILED);
  });

  it("a policy without write access -> STORE_AUTH_FAILED naming the policy paths", async () => {
    vault.setPolicy("read-only", { "secret/data/resiliency/*": ["read"] });
    const token = vault.createToken({ policies: ["read-only"] });
    secrets.push(token);
    const store = await open({ VAULT_TOKEN: token });
    expect(await store.get("k")).toBeUndefined();
    const error = await failure(store.set("k", record("v")));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toContain(
      `policy grants create, read and update on "secret/data/resiliency/${run}/*"`,
    );
  });

  it("the README's least-privilege policy is enough for every store operation", async () => {
    const base = `resiliency/${run + 1}`;
    vault.setPolicy("easel-tokens", {
      [`secret/data/${base}/*`]: ["create", "read", "update"],
      [`secret/metadata/${base}/*`]: ["delete"],
    });
    const store = await open({ VAULT_TOKEN: vault.createToken({ policies: ["easel-tokens"] }) });
    await store.withLock("k", async () => store.set("k", record("v1")));
    expect(await store.update("k", () => record("v2"))).toEqual(record("v2"));
    expect(await store.delete("k")).toBe(true);
    expect(await store.get("k")).toBeUndefined();
  });

  it("an old server's bare 'permission denied' is recognised too", async () => {
    const old = await startFakeVault({ errorStyle: "plain" });
    try {
      const store = await open({ VAULT_TOKEN: "hvs.old-server-token" }, freshUri(old.url));
      expect((await failure(store.get("k"))).code).toBe(STORE_AUTH_FAILED);
    } finally {
      await old.close();
    }
  });

  it("AppRole refusal -> STORE_AUTH_FAILED naming the env vars, never the IDs", async () => {
    const { roleId } = vault.createAppRole();
    const store = await open({ VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: "wrong-secret-id-5678" });
    secrets.push("wrong-secret-id-5678");
    const error = await failure(store.get("k"));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toMatch(/invalid role or secret ID.*VAULT_ROLE_ID and VAULT_SECRET_ID/);
    expect(error.message).not.toContain(roleId);
  });

  it("no credentials at all -> STORE_AUTH_FAILED before any request", async () => {
    const error = await failure(createTokenStore(freshUri(), { env: {} }));
    expect(error.code).toBe(STORE_AUTH_FAILED);
    expect(error.message).toMatch(/VAULT_TOKEN.*VAULT_ROLE_ID/);
  });

  it("a malformed URI is a TypeError ERR_INVALID_ARG_VALUE that never echoes user-info", async () => {
    const error = await failure(
      createTokenStore("vault+http://s.leaked@127.0.0.1:8200/secret/x", { env: {} }),
    );
    expect(error).toBeInstanceOf(TypeError);
    expect((error as unknown as { code: string }).code).toBe("ERR_INVALID_ARG_VALUE");
    expect(error.message).not.toContain("s.leaked");
    await expect(createTokenStore("redis://127.0.0.1", { env: {} })).rejects.toThrow(/vault\+http/);
    await expect(createTokenStore("vault+http://127.0.0.1:8200/", { env: {} })).rejects.toThrow(TypeError);
  });
});

describe("AppRole lifecycle", () => {
  async function appRoleStore(
    tokenTtlSeconds: number,
    extra: Parameters<FakeVault["createAppRole"]>[0] = {},
  ) {
    const { roleId, secretId } = vault.createAppRole({ tokenTtlSeconds, ...extra });
    secrets.push(secretId);
    vault.resetRequests();
    return open({ VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId }, freshUri(), { now: vault.now });
  }
  const count = (template: string) => vault.requests[template] ?? 0;

  it("logs in once, renews after two thirds of the TTL, and re-logs in after expiry", async () => {
    const store = await appRoleStore(60);
    await store.set("k", record("1"));
    await store.get("k");
    expect(count("POST /v1/auth/approle/login")).toBe(1);

    vault.advanceClock(45); // past 2/3 of 60 s, before expiry
    expect(await store.get("k")).toEqual(record("1"));
    expect(count("POST /v1/auth/token/renew-self")).toBe(1);
    expect(count("POST /v1/auth/approle/login")).toBe(1);

    vault.advanceClock(50); // renewed lease (60 s from t=45) is still alive at t=95
    expect(await store.get("k")).toEqual(record("1"));
    expect(count("POST /v1/auth/token/renew-self")).toBe(2);

    vault.advanceClock(120); // nothing ran for longer than the TTL: the token is gone
    expect(await store.get("k")).toEqual(record("1"));
    expect(count("POST /v1/auth/approle/login")).toBe(2);
    expect(count("POST /v1/auth/token/renew-self")).toBe(2);
  });

  it("tokens revoked behind its back -> 403 -> one fresh login and the call succeeds", async () => {
    const store = await appRoleStore(600);
    await store.set("k", record("1"));
    // What an operator does after a leak: revoke every token AppRole ever issued.
    const revoked = await fetch(`${vault.url}/v1/sys/leases/revoke-prefix/auth/approle/login`, {
      method: "PUT",
      headers: { "X-Vault-Token": vault.rootToken },
    });
    expect(revoked.status).toBe(204);
    expect(await store.get("k")).toEqual(record("1"));
    expect(count("POST /v1/auth/approle/login")).toBe(2);
  });

  it("a renewal capped by max TTL leads to a fresh login instead of ever-shorter renewals", async () => {
    const store = await appRoleStore(60, { tokenMaxTtlSeconds: 80 });
    await store.get("k");
    vault.advanceClock(41); // renew: only 39 s left until max TTL -> capped
    await store.get("k");
    expect(count("POST /v1/auth/token/renew-self")).toBe(1);
    vault.advanceClock(27); // past 2/3 of the capped lease: log in again, do not renew
    await store.get("k");
    expect(count("POST /v1/auth/token/renew-self")).toBe(1);
    expect(count("POST /v1/auth/approle/login")).toBe(2);
  });

  it("concurrent callers share one login", async () => {
    const store = await appRoleStore(600);
    await Promise.all(Array.from({ length: 10 }, (_, i) => store.get(`k${i}`)));
    expect(count("POST /v1/auth/approle/login")).toBe(1);
  });

  it("close() revokes the login token", async () => {
    const store = await appRoleStore(600);
    await store.get("k");
    await store.close();
    expect(count("POST /v1/auth/token/revoke-self")).toBe(1);
  });

  it("VAULT_NAMESPACE is sent as X-Vault-Namespace: logins and records live in that namespace", async () => {
    const { roleId, secretId } = vault.createAppRole({ namespace: "team-a" });
    const uri = freshUri();
    const store = await open(
      { VAULT_ROLE_ID: roleId, VAULT_SECRET_ID: secretId, VAULT_NAMESPACE: "team-a" },
      uri,
    );
    await store.set("k", record("ns"));
    expect(vault.readSecret(`secret/resiliency/${run}/k`, { namespace: "team-a" })?.data).toEqual(
      record("ns"),
    );
    expect(vault.readSecret(`secret/resiliency/${run}/k`)).toBeUndefined();
  });
});

describe("check-and-set: never a lost update", () => {
  it("a writer that lost the race re-reads and re-applies its change", async () => {
    const uri = freshUri();
    const a = await withRoot(uri);
    const b = await withRoot(uri);
    await a.set("counter", record("0"));
    const mismatchesBefore = vault.casMismatches;
    let calls = 0;
    const result = await a.update("counter", async (current) => {
      calls++;
      // Between a's read and a's write, b increments: a's first cas must fail.
      if (calls === 1) await b.update("counter", (r) => record(String(Number(r?.access_token) + 1)));
      return record(String(Number(current?.access_token) + 1));
    });
    expect(calls).toBe(2);
    expect(result).toEqual(record("2"));
    expect(await b.get("counter")).toEqual(record("2"));
    expect(vault.casMismatches).toBe(mismatchesBefore + 1);
  });

  it("set after another store's write retries with the fresh version (atomic replace)", async () => {
    const uri = freshUri();
    const a = await withRoot(uri);
    const b = await withRoot(uri);
    await a.set("k", record("a1"));
    await b.set("k", record("b1"));
    await a.set("k", record("a2")); // a's cached version is stale
    expect(await b.get("k")).toEqual(record("a2"));
  });

  it("gives up with STORE_CONFLICT after maxCasAttempts, leaving the other writer's value", async () => {
    const uri = freshUri();
    const a = await withRoot(uri, { maxCasAttempts: 3 });
    const b = await withRoot(uri);
    await a.set("k", record("0"));
    let n = 0;
    const error = await failure(
      a.update("k", async () => {
        await b.set("k", record(`b${++n}`));
        return record("a");
      }),
    );
    expect(error.code).toBe(STORE_CONFLICT);
    expect(n).toBe(3);
    expect(await b.get("k")).toEqual(record("b3"));
  });

  it("3 processes x 40 lock-free increments through update(): the total is exact", async () => {
    const uri = freshUri();
    const store = await withRoot(uri);
    await store.set("counter", record("0"));
    const script = fileURLToPath(new URL("./fixtures/cas-increment.mjs", import.meta.url));
    const before = vault.casMismatches;
    const outputs = await Promise.all(
      [1, 2, 3].map(() => runNode(script, [uri, "40"], { env: { VAULT_TOKEN: vault.rootToken } })),
    );
    expect(await store.get("counter")).toEqual(record("120"));
    const calls = outputs.reduce((sum, out) => sum + (JSON.parse(out) as { calls: number }).calls, 0);
    // Every lost race cost one extra updater call: contention really happened and was absorbed.
    expect(calls - 120).toBe(vault.casMismatches - before);
    console.info(`cas mismatches absorbed: ${vault.casMismatches - before} over 120 increments`);
  }, 60_000);
});

describe("fleet lock entry", () => {
  it("withLock holds a cas-written entry at PATH/.locks/<key> and leaves a released marker", async () => {
    const store = await withRoot();
    const lockPath = `secret/resiliency/${run}/.locks/user~3A1`;
    await store.withLock("user:1", async () => {
      expect(vault.readSecret(lockPath)?.data).toMatchObject({
        owner: expect.stringContaining(`:${process.pid}:`),
      });
      expect(vault.readSecret(lockPath)?.data.released).toBeUndefined();
    });
    expect(vault.readSecret(lockPath)?.data).toMatchObject({ released: true });
  });

  it("a holder that overstayed its ttl cannot release the lock of the process that took it over", async () => {
    const uri = freshUri();
    const slow = await withRoot(uri);
    const other = await withRoot(uri); // another store = another process, as far as Vault can tell
    const lockPath = `secret/resiliency/${run}/.locks/k`;
    let releaseOther!: () => void;
    let otherOwner: unknown;
    const otherHolds = new Promise<void>((resolve) => {
      releaseOther = resolve;
    });
    let slowIn!: () => void;
    let slowMayLeave!: () => void;
    let otherIn!: () => void;
    const slowInside = new Promise<void>((resolve) => (slowIn = resolve));
    const slowLeaves = new Promise<void>((resolve) => (slowMayLeave = resolve));
    const otherInside = new Promise<void>((resolve) => (otherIn = resolve));
    const slowRun = slow.withLock(
      "k",
      async () => {
        slowIn();
        await slowLeaves; // held past its ttl, until the other store has taken the lock over
      },
      { ttlMs: 100 },
    );
    await slowInside;
    const otherRun = other.withLock("k", async () => {
      otherOwner = vault.readSecret(lockPath)?.data.owner;
      otherIn();
      await otherHolds;
    });
    await otherInside;
    slowMayLeave();
    await slowRun; // its release lost the cas race: the entry moved on
    const entry = vault.readSecret(lockPath)?.data;
    expect(entry?.owner).toBe(otherOwner);
    expect(entry?.released).toBeUndefined();
    releaseOther();
    await otherRun;
    expect(vault.readSecret(lockPath)?.data.released).toBe(true);
  });

  it("a lock entry that is not a lock -> CORRUPT_RECORD, not a silent takeover", async () => {
    const store = await withRoot();
    await fetch(`${vault.url}/v1/secret/data/resiliency/${run}/.locks/k`, {
      method: "POST",
      headers: { "X-Vault-Token": vault.rootToken },
      body: JSON.stringify({ data: { something: "else" } }),
    });
    expect((await failure(store.withLock("k", async () => 1))).code).toBe(CORRUPT_RECORD);
  });
});

describe("secrets", () => {
  it("no error message or inspected error carries a token, secret ID or record value", () => {
    expect(provoked.length).toBeGreaterThan(15);
    for (const error of provoked) {
      const text = `${String((error as Error).message)}\n${inspect(error, { depth: 8 })}`;
      for (const secret of secrets) expect(text).not.toContain(secret);
    }
  });
});

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}
