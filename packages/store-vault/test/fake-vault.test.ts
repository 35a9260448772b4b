import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type FakeVault, startFakeVault } from "../src/testing.js";

// Every test talks to the fake over real HTTP with fetch, the way any Vault client would.
let vault: FakeVault;
let path = 0;
beforeAll(async () => {
  vault = await startFakeVault();
});
afterAll(() => vault.close());

interface CallOptions {
  token?: string | null;
  body?: unknown;
  namespace?: string;
  headers?: Record<string, string>;
  rawBody?: string;
}

async function call(method: string, url: string, options: CallOptions = {}) {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? vault.rootToken : options.token;
  if (token) headers["X-Vault-Token"] = token;
  if (options.namespace) headers["X-Vault-Namespace"] = options.namespace;
  const body = options.rawBody ?? (options.body === undefined ? undefined : JSON.stringify(options.body));
  const response = await fetch(`${vault.url}/v1/${url}`, { method, headers, body });
  const text = await response.text();
  // biome-ignore lint/suspicious/noExplicitAny: test assertions walk arbitrary JSON
  const json: any = text ? JSON.parse(text) : undefined;
  return { status: response.status, headers: response.headers, json, text };
}

const uniquePath = () => `fake-test/${++path}`;
const RFC3339_NANO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$/;
const ENVELOPE_KEYS = [
  "auth",
  "data",
  "lease_duration",
  "lease_id",
  "renewable",
  "request_id",
  "warnings",
  "wrap_info",
];

describe("KV v2 envelopes", () => {
  it("a write answers 200 with the full envelope and version metadata", async () => {
    const res = await call("POST", `secret/data/${uniquePath()}`, { body: { data: { a: 1 } } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(Object.keys(res.json).sort()).toEqual(ENVELOPE_KEYS);
    expect(res.json).toMatchObject({ lease_id: "", renewable: false, lease_duration: 0, wrap_info: null });
    expect(res.json.request_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.json.data).toEqual({
      created_time: expect.stringMatching(RFC3339_NANO),
      custom_metadata: null,
      deletion_time: "",
      destroyed: false,
      version: 1,
    });
  });

  it("a read answers data.data and data.metadata; ?version=N reads an older version", async () => {
    const p = uniquePath();
    const nested = { token: "t", user: { id: 1, tags: ["x", null] }, n: 1.5 };
    await call("POST", `secret/data/${p}`, { body: { data: nested } });
    await call("POST", `secret/data/${p}`, { body: { data: { second: true } } });
    const latest = await call("GET", `secret/data/${p}`);
    expect(latest.status).toBe(200);
    expect(latest.json.data.data).toEqual({ second: true });
    expect(latest.json.data.metadata).toMatchObject({ version: 2, deletion_time: "", destroyed: false });
    const first = await call("GET", `secret/data/${p}?version=1`);
    expect(first.json.data).toMatchObject({ data: nested, metadata: { version: 1 } });
  });

  it("a missing key or version is 404 {errors: []}", async () => {
    const p = uniquePath();
    expect(await call("GET", `secret/data/${p}`)).toMatchObject({ status: 404, json: { errors: [] } });
    await call("POST", `secret/data/${p}`, { body: { data: { a: 1 } } });
    expect(await call("GET", `secret/data/${p}?version=7`)).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
  });

  it("missing data is 400 'no data provided'; unparsable JSON is 400 'error parsing JSON'", async () => {
    const p = uniquePath();
    expect((await call("POST", `secret/data/${p}`, { body: { a: 1 } })).json).toEqual({
      errors: ["no data provided"],
    });
    const bad = await call("POST", `secret/data/${p}`, { rawBody: "{not json" });
    expect(bad).toMatchObject({ status: 400, json: { errors: ["error parsing JSON"] } });
  });
});

describe("check-and-set", () => {
  const MISMATCH = { errors: ["check-and-set parameter did not match the current version"] };

  it("cas 0 creates; cas 0 on an existing key and a stale cas are 400 with Vault's exact text", async () => {
    const p = uniquePath();
    const created = await call("POST", `secret/data/${p}`, { body: { options: { cas: 0 }, data: { v: 1 } } });
    expect(created.json.data.version).toBe(1);
    const again = await call("POST", `secret/data/${p}`, { body: { options: { cas: 0 }, data: { v: 2 } } });
    expect(again).toMatchObject({ status: 400, json: MISMATCH });
    const ok = await call("POST", `secret/data/${p}`, { body: { options: { cas: 1 }, data: { v: 2 } } });
    expect(ok.json.data.version).toBe(2);
    const stale = await call("POST", `secret/data/${p}`, { body: { options: { cas: 1 }, data: { v: 3 } } });
    expect(stale).toMatchObject({ status: 400, json: MISMATCH });
    expect((await call("GET", `secret/data/${p}`)).json.data.data).toEqual({ v: 2 });
  });

  it("numeric strings are accepted as cas; anything else is a parse error", async () => {
    const p = uniquePath();
    expect(
      (await call("POST", `secret/data/${p}`, { body: { options: { cas: "0" }, data: {} } })).status,
    ).toBe(200);
    const bad = await call("POST", `secret/data/${p}`, { body: { options: { cas: "one" }, data: {} } });
    expect(bad.json).toEqual({ errors: ["error parsing check-and-set parameter"] });
  });

  it("cas_required on the key or the mount refuses writes without cas", async () => {
    const p = uniquePath();
    await call("POST", `secret/metadata/${p}`, { body: { cas_required: true } });
    const refused = await call("POST", `secret/data/${p}`, { body: { data: { a: 1 } } });
    expect(refused).toMatchObject({
      status: 400,
      json: { errors: ["check-and-set parameter required for this call"] },
    });

    const mount = await startFakeVault({ rootToken: "hvs.mount-config" });
    try {
      const cfg = await fetch(`${mount.url}/v1/secret/config`, {
        method: "POST",
        headers: { "X-Vault-Token": mount.rootToken },
        body: JSON.stringify({ cas_required: true }),
      });
      expect(cfg.status).toBe(204);
      const write = await fetch(`${mount.url}/v1/secret/data/x`, {
        method: "POST",
        headers: { "X-Vault-Token": mount.rootToken },
        body: JSON.stringify({ data: { a: 1 } }),
      });
      expect(write.status).toBe(400);
      expect(await write.json()).toEqual({ errors: ["check-and-set parameter required for this call"] });
    } finally {
      await mount.close();
    }
  });
});

describe("delete, undelete, destroy, metadata", () => {
  it("DELETE data soft-deletes the latest: read is 404 with metadata and no errors key", async () => {
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: { a: 1 } } });
    expect((await call("DELETE", `secret/data/${p}`)).status).toBe(204);
    const read = await call("GET", `secret/data/${p}`);
    expect(read.status).toBe(404);
    expect(Object.keys(read.json).sort()).toEqual(ENVELOPE_KEYS);
    expect(read.json.data.data).toBeNull();
    expect(read.json.data.metadata).toMatchObject({ version: 1, destroyed: false });
    expect(read.json.data.metadata.deletion_time).toMatch(RFC3339_NANO);
    // The version counter survives: cas 0 no longer matches, cas 1 does.
    const cas0 = await call("POST", `secret/data/${p}`, { body: { options: { cas: 0 }, data: { a: 2 } } });
    expect(cas0.status).toBe(400);
    expect(
      (await call("POST", `secret/data/${p}`, { body: { options: { cas: 1 }, data: { a: 2 } } })).status,
    ).toBe(200);
  });

  it("undelete restores a version; destroy removes its data for good", async () => {
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: { a: 1 } } });
    await call("DELETE", `secret/data/${p}`);
    expect((await call("POST", `secret/undelete/${p}`, { body: { versions: [1] } })).status).toBe(204);
    expect((await call("GET", `secret/data/${p}`)).json.data.data).toEqual({ a: 1 });
    expect((await call("POST", `secret/destroy/${p}`, { body: { versions: [1] } })).status).toBe(204);
    const read = await call("GET", `secret/data/${p}`);
    expect(read.status).toBe(404);
    expect(read.json.data.metadata.destroyed).toBe(true);
    const empty = await call("POST", `secret/delete/${p}`, { body: { versions: [] } });
    expect(empty).toMatchObject({ status: 400, json: { errors: ["No version number provided"] } });
  });

  it("DELETE metadata removes every version (204 even when absent); the key starts over at 1", async () => {
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: { a: 1 } } });
    await call("POST", `secret/data/${p}`, { body: { data: { a: 2 } } });
    expect((await call("DELETE", `secret/metadata/${p}`)).status).toBe(204);
    expect((await call("DELETE", `secret/metadata/${p}`)).status).toBe(204);
    expect(await call("GET", `secret/data/${p}`)).toMatchObject({ status: 404, json: { errors: [] } });
    expect(await call("GET", `secret/metadata/${p}`)).toMatchObject({ status: 404, json: { errors: [] } });
    const again = await call("POST", `secret/data/${p}`, { body: { options: { cas: 0 }, data: { a: 3 } } });
    expect(again.json.data.version).toBe(1);
  });

  it("GET metadata has current_version, string-keyed versions and prunes past max_versions", async () => {
    const p = uniquePath();
    await call("POST", `secret/metadata/${p}`, {
      body: { max_versions: 2, custom_metadata: { team: "easel" } },
    });
    for (let i = 1; i <= 3; i++) await call("POST", `secret/data/${p}`, { body: { data: { i } } });
    const meta = await call("GET", `secret/metadata/${p}`);
    expect(meta.json.data).toMatchObject({
      cas_required: false,
      current_version: 3,
      oldest_version: 2,
      max_versions: 2,
      delete_version_after: "0s",
      custom_metadata: { team: "easel" },
    });
    expect(Object.keys(meta.json.data.versions)).toEqual(["2", "3"]);
    expect(await call("GET", `secret/data/${p}?version=1`)).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
    expect((await call("GET", `secret/data/${p}`)).json.data.metadata.custom_metadata).toEqual({
      team: "easel",
    });
  });

  it("LIST (GET ?list=true) shows one level, folders with '/', soft-deleted keys too; empty is 404", async () => {
    const base = uniquePath();
    for (const leaf of ["a", "b/c", "b/d"])
      await call("POST", `secret/data/${base}/${leaf}`, { body: { data: {} } });
    await call("DELETE", `secret/data/${base}/a`);
    const list = await call("GET", `secret/metadata/${base}?list=true`);
    expect(list.json.data.keys).toEqual(["a", "b/"]);
    expect(await call("GET", `secret/metadata/${base}/none?list=true`)).toMatchObject({
      status: 404,
      json: { errors: [] },
    });
  });

  it("PATCH merges into the latest version and needs application/merge-patch+json", async () => {
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: { a: 1, b: { c: 2, d: 3 } } } });
    const wrongType = await call("PATCH", `secret/data/${p}`, {
      body: { data: { a: 2 } },
      headers: { "Content-Type": "application/json" },
    });
    expect(wrongType.status).toBe(415);
    const patched = await call("PATCH", `secret/data/${p}`, {
      body: { data: { a: 2, b: { d: null } } },
      headers: { "Content-Type": "application/merge-patch+json" },
    });
    expect(patched.json.data.version).toBe(2);
    expect((await call("GET", `secret/data/${p}`)).json.data.data).toEqual({ a: 2, b: { c: 2 } });
  });

  it("a v1-style path on a v2 mount is 404 with the 'Invalid path' warning and no errors", async () => {
    const res = await call("GET", "secret/easel/tokens/x");
    expect(res.status).toBe(404);
    expect(res.json.errors).toBeUndefined();
    expect(res.json.warnings[0]).toMatch(/^Invalid path for a versioned K\/V secrets engine.*'vault kv get'/);
  });

  it("an unknown mount is 404 'no handler for route'", async () => {
    const res = await call("GET", "nomount/data/x");
    expect(res).toMatchObject({
      status: 404,
      json: { errors: ['no handler for route "nomount/data/x". route entry not found.'] },
    });
  });
});

describe("tokens and ACL", () => {
  const INVALID = { errors: ["2 errors occurred:\n\t* permission denied\n\t* invalid token\n\n"] };

  it("a missing, unknown or revoked token is 403 permission denied", async () => {
    expect((await call("GET", "secret/data/x", { token: null })).status).toBe(403);
    expect(await call("GET", "secret/data/x", { token: "hvs.unknown" })).toMatchObject({
      status: 403,
      json: INVALID,
    });
    const token = vault.createToken({ ttlSeconds: 60 });
    expect((await call("GET", "secret/data/x", { token })).status).toBe(404);
    vault.revokeToken(token);
    expect(await call("GET", "secret/data/x", { token })).toMatchObject({ status: 403, json: INVALID });
  });

  it("Authorization: Bearer works when X-Vault-Token is absent", async () => {
    const res = await call("GET", "auth/token/lookup-self", {
      token: null,
      headers: { Authorization: `Bearer ${vault.rootToken}` },
    });
    expect(res.status).toBe(200);
    expect(res.json.data.policies).toEqual(["root"]);
  });

  it("a policy that only reads gets 403 '1 error occurred: permission denied' on a write", async () => {
    vault.setPolicy("reader", { "secret/data/shared/*": ["read"] });
    const token = vault.createToken({ policies: ["reader"] });
    await call("POST", "secret/data/shared/r", { body: { data: { a: 1 } } });
    expect((await call("GET", "secret/data/shared/r", { token })).json.data.data).toEqual({ a: 1 });
    const write = await call("POST", "secret/data/shared/r", { token, body: { data: { a: 2 } } });
    expect(write).toMatchObject({
      status: 403,
      json: { errors: ["1 error occurred:\n\t* permission denied\n\n"] },
    });
    expect((await call("GET", "secret/data/elsewhere", { token })).status).toBe(403);
  });

  it("lookup-self counts ttl down on the fake clock; the token expires at its ttl", async () => {
    const token = vault.createToken({ ttlSeconds: 100, policies: ["default"] });
    const first = await call("GET", "auth/token/lookup-self", { token });
    expect(first.json.data).toMatchObject({
      creation_ttl: 100,
      renewable: true,
      policies: ["default"],
      type: "service",
    });
    expect(first.json.data.ttl).toBeGreaterThanOrEqual(99);
    vault.advanceClock(60);
    expect((await call("GET", "auth/token/lookup-self", { token })).json.data.ttl).toBeLessThanOrEqual(40);
    vault.advanceClock(41);
    expect(await call("GET", "auth/token/lookup-self", { token })).toMatchObject({
      status: 403,
      json: INVALID,
    });
  });

  it("renew-self extends by the creation ttl or increment, capped at max ttl with Vault's warning", async () => {
    const token = vault.createToken({ ttlSeconds: 60, maxTtlSeconds: 600 });
    vault.advanceClock(50);
    const renewed = await call("POST", "auth/token/renew-self", { token, body: {} });
    expect(renewed.json.auth).toMatchObject({ client_token: token, lease_duration: 60, renewable: true });
    expect(renewed.json.warnings).toBeNull();
    const hour = await call("POST", "auth/token/renew-self", { token, body: { increment: "1h" } });
    // 600 s max minus the 50 s advanced (minus a second of real time on a slow machine).
    expect(hour.json.auth.lease_duration).toBeGreaterThanOrEqual(549);
    expect(hour.json.auth.lease_duration).toBeLessThanOrEqual(550);
    expect(hour.json.warnings).toEqual([
      expect.stringMatching(
        /^TTL of "1h0m0s" exceeded the effective max_ttl of "9m(10|9)s"; TTL value is capped accordingly$/,
      ),
    ]);
    vault.advanceClock(551);
    expect((await call("POST", "auth/token/renew-self", { token, body: {} })).status).toBe(403);
  });

  it("a non-renewable token cannot renew-self", async () => {
    const token = vault.createToken({ ttlSeconds: 60, renewable: false });
    const res = await call("POST", "auth/token/renew-self", { token, body: {} });
    expect(res).toMatchObject({ status: 400, json: { errors: ["lease is not renewable"] } });
  });

  it("the plain error style answers 403 with a bare 'permission denied'", async () => {
    const old = await startFakeVault({ errorStyle: "plain" });
    try {
      const res = await fetch(`${old.url}/v1/secret/data/x`, { headers: { "X-Vault-Token": "hvs.nope" } });
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({ errors: ["permission denied"] });
    } finally {
      await old.close();
    }
  });
});

describe("AppRole", () => {
  it("login answers the auth block; the token works, with role_name metadata and the role's ttl", async () => {
    const { roleId, secretId } = vault.createAppRole({ roleName: "easel-ci", tokenTtlSeconds: 120 });
    const res = await call("POST", "auth/approle/login", {
      token: null,
      body: { role_id: roleId, secret_id: secretId },
    });
    expect(res.status).toBe(200);
    expect(res.json.data).toBeNull();
    expect(res.json.auth).toMatchObject({
      client_token: expect.stringMatching(/^hvs\./),
      lease_duration: 120,
      renewable: true,
      token_type: "service",
      orphan: true,
      metadata: { role_name: "easel-ci" },
      mfa_requirement: null,
    });
    const lookup = await call("GET", "auth/token/lookup-self", { token: res.json.auth.client_token });
    expect(lookup.json.data).toMatchObject({ path: "auth/approle/login", creation_ttl: 120 });
  });

  it("a wrong secret_id or role_id is 400 'invalid role or secret ID'; empty fields are named", async () => {
    const { roleId } = vault.createAppRole();
    const wrong = await call("POST", "auth/approle/login", {
      token: null,
      body: { role_id: roleId, secret_id: "nope" },
    });
    expect(wrong).toMatchObject({ status: 400, json: { errors: ["invalid role or secret ID"] } });
    const unknown = await call("POST", "auth/approle/login", {
      token: null,
      body: { role_id: "x", secret_id: "y" },
    });
    expect(unknown.json).toEqual({ errors: ["invalid role or secret ID"] });
    expect((await call("POST", "auth/approle/login", { token: null, body: {} })).json).toEqual({
      errors: ["missing role_id"],
    });
    expect(
      (await call("POST", "auth/approle/login", { token: null, body: { role_id: roleId } })).json,
    ).toEqual({
      errors: ["missing secret_id"],
    });
  });

  it("a secret ID with num_uses stops working once used up", async () => {
    const { roleId, secretId } = vault.createAppRole({ secretIdNumUses: 1 });
    const body = { role_id: roleId, secret_id: secretId };
    expect((await call("POST", "auth/approle/login", { token: null, body })).status).toBe(200);
    expect((await call("POST", "auth/approle/login", { token: null, body })).status).toBe(400);
  });
});

describe("seal, health, namespaces, bookkeeping", () => {
  it("sealed: every route is 503 'Vault is sealed', health says so, seal-status is 200", async () => {
    const { roleId, secretId } = vault.createAppRole();
    vault.seal();
    try {
      for (const [method, url] of [
        ["GET", "secret/data/x"],
        ["POST", "secret/data/x"],
        ["DELETE", "secret/metadata/x"],
        ["GET", "auth/token/lookup-self"],
        ["GET", "nomount/anything"],
      ] as const) {
        const res = await call(method, url, { body: method === "POST" ? { data: {} } : undefined });
        expect(res, `${method} ${url}`).toMatchObject({ status: 503, json: { errors: ["Vault is sealed"] } });
      }
      const login = await call("POST", "auth/approle/login", {
        token: null,
        body: { role_id: roleId, secret_id: secretId },
      });
      expect(login.status).toBe(503);
      const health = await call("GET", "sys/health", { token: null });
      expect(health).toMatchObject({ status: 503, json: { sealed: true, initialized: true } });
      expect((await call("GET", "sys/health?sealedcode=200", { token: null })).status).toBe(200);
      expect(await call("GET", "sys/seal-status", { token: null })).toMatchObject({
        status: 200,
        json: { sealed: true },
      });
    } finally {
      vault.unseal();
    }
    expect(await call("GET", "sys/health", { token: null })).toMatchObject({
      status: 200,
      json: { sealed: false },
    });
  });

  it("PUT sys/seal with the root token seals", async () => {
    const other = await startFakeVault();
    try {
      const res = await fetch(`${other.url}/v1/sys/seal`, {
        method: "PUT",
        headers: { "X-Vault-Token": other.rootToken },
      });
      expect(res.status).toBe(204);
      expect(other.sealed).toBe(true);
    } finally {
      await other.close();
    }
  });

  it("X-Vault-Namespace isolates data; a namespace's token is invalid at the root", async () => {
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: { where: "root" } }, namespace: "team-a/" });
    expect((await call("GET", `secret/data/${p}`, { namespace: "team-a" })).json.data.data).toEqual({
      where: "root",
    });
    expect((await call("GET", `secret/data/${p}`)).status).toBe(404);
    expect((await call("GET", `secret/data/${p}`, { namespace: "team-b" })).status).toBe(404);
    expect(vault.readSecret(`secret/${p}`, { namespace: "team-a" })?.data).toEqual({ where: "root" });
    const nsToken = vault.createToken({ namespace: "team-a" });
    expect((await call("GET", `secret/data/${p}`, { token: nsToken, namespace: "team-a" })).status).toBe(200);
    expect((await call("GET", `secret/data/${p}`, { token: nsToken })).status).toBe(403);
  });

  it("counts requests by method and path template, and injects one-shot faults", async () => {
    vault.resetRequests();
    const p = uniquePath();
    await call("POST", `secret/data/${p}`, { body: { data: {} } });
    await call("GET", `secret/data/${p}`);
    await call("GET", `secret/data/${p}/other`);
    vault.injectFault({ status: 429, match: "GET /v1/secret/data" });
    const limited = await call("GET", `secret/data/${p}`);
    expect(limited).toMatchObject({ status: 429, json: { errors: ["rate limit quota exceeded"] } });
    expect((await call("GET", `secret/data/${p}`)).status).toBe(200);
    expect(vault.requests).toEqual({ "POST /v1/secret/data/:path": 1, "GET /v1/secret/data/:path": 4 });
  });
});
