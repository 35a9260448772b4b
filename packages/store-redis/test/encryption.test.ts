import { spawnSync } from "node:child_process";
import { Fernet, generateKey } from "@easel/fernet";
import { pythonUnavailable, requireRedis } from "@easel/test-utils";
import { CORRUPT_RECORD, DECRYPT_FAILED, type TokenRecord, TokenStoreError } from "@easel/token-store";
import { afterAll, beforeAll, describe as describeAlways, expect, it } from "vitest";
import { createTokenStore, RedisTokenStore } from "../src/index.js";
import { rawClient, testNamespace } from "./helpers.js";

const redisUp = await requireRedis("the Redis encryption tests");
const ns = testNamespace("crypto");
let raw: Awaited<ReturnType<typeof rawClient>>;
beforeAll(async () => {
  if (redisUp) raw = await rawClient();
});
afterAll(async () => {
  if (!redisUp) return;
  raw.destroy();
  await ns.cleanup();
});

/** Every group here needs the shared Redis. */
const describe = describeAlways.skipIf(!redisUp);
const DAY = 24 * 3600;
const record: TokenRecord = {
  access_token: "at-SECRET-7d0c1e9a",
  token_type: "Bearer",
  refresh_token: "rt-SECRET-44b2",
  expires_at: 1795000000.123456,
  scope: "url:GET|/api/v1/courses",
  user: { id: 42, name: "Zoë 李雷" },
};
/** What Python's json.dumps(record) prints: the bytes inside the file store's Fernet token. */
const PYTHON_JSON =
  '{"access_token": "at-SECRET-7d0c1e9a", "token_type": "Bearer", "refresh_token": "rt-SECRET-44b2", ' +
  '"expires_at": 1795000000.123456, "scope": "url:GET|/api/v1/courses", "user": {"id": 42, "name": "Zo\\u00eb \\u674e\\u96f7"}}';

const hasPythonCryptography = pythonUnavailable("cryptography.fernet") === undefined;

async function open(keys: string, options: { graceSeconds?: number; prefix?: string } = {}) {
  const prefix = options.prefix ?? ns.prefix();
  const store = await createTokenStore(ns.uri(prefix), {
    fernetKeys: keys,
    graceSeconds: options.graceSeconds,
  });
  return { store, prefix };
}

async function codeOf(promise: Promise<unknown>): Promise<TokenStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenStoreError);
  return error as TokenStoreError;
}

describe("what Redis holds", () => {
  it("a Fernet token of the record's Python json.dumps bytes: no plaintext token, no field names", async () => {
    const { store, prefix } = await open(ns.fernetKeys);
    try {
      await store.set("default", record);
      const value = await raw.get(`${prefix}default`);
      expect(value).toMatch(/^gAAAAA[A-Za-z0-9_-]+=*$/);
      // Long enough that a random base64 token cannot contain them by chance (a 2-letter
      // probe like "Zo" did, about once in 20 runs).
      for (const secret of ["at-SECRET", "rt-SECRET", "access_token", "refresh_token"])
        expect(value).not.toContain(secret);
      expect(new Fernet(ns.fernetKeys).decrypt(value!).toString("utf8")).toBe(PYTHON_JSON);
      expect(await store.get("default")).toEqual(record);
    } finally {
      await store.close();
    }
  });

  it.skipIf(!hasPythonCryptography)(
    "Python's cryptography decrypts it to json.dumps bytes, and a token Python wrote reads back",
    async () => {
      const { store, prefix } = await open(ns.fernetKeys);
      try {
        await store.set("from-node", record);
        const script = [
          "import json, sys",
          "from cryptography.fernet import Fernet",
          "f = Fernet(sys.argv[1].encode())",
          "plain = f.decrypt(sys.argv[2].encode()).decode()",
          "assert json.dumps(json.loads(plain)) == plain, plain",
          "print(f.encrypt(json.dumps(dict(json.loads(plain), access_token='from-python')).encode()).decode())",
        ].join("\n");
        const run = spawnSync(
          "python3",
          ["-c", script, ns.fernetKeys, (await raw.get(`${prefix}from-node`))!],
          {
            encoding: "utf8",
          },
        );
        expect(run.stderr).toBe("");
        await raw.set(`${prefix}from-python`, run.stdout.trim());
        expect(await store.get("from-python")).toEqual({ ...record, access_token: "from-python" });
      } finally {
        await store.close();
      }
    },
  );
});

describe("key rotation (EASEL_FERNET_KEY=NEW,OLD)", () => {
  it("records under the old key still read, and are re-encrypted under the new key on the next write", async () => {
    const oldKey = generateKey();
    const newKey = generateKey();
    const before = await open(oldKey);
    const after = await open(`${newKey},${oldKey}`, { prefix: before.prefix });
    const redisKey = `${before.prefix}default`;
    try {
      await before.store.set("default", record);
      const written = await raw.get(redisKey);
      expect(await after.store.get("default")).toEqual(record);
      expect(await raw.get(redisKey)).toBe(written); // a read never rewrites

      await after.store.set("default", record);
      const rotated = (await raw.get(redisKey))!;
      expect(new Fernet(newKey).decrypt(rotated).toString("utf8")).toBe(PYTHON_JSON);
      expect(() => new Fernet(oldKey).decrypt(rotated)).toThrow();
    } finally {
      await Promise.all([before.store.close(), after.store.close()]);
    }
  });

  it("a record under an unknown key fails with DECRYPT_FAILED naming the key, and is left untouched", async () => {
    const writer = await open(generateKey());
    const reader = await open(generateKey(), { prefix: writer.prefix });
    const redisKey = `${writer.prefix}default`;
    try {
      await writer.store.set("default", record);
      const stored = await raw.get(redisKey);
      const error = await codeOf(reader.store.get("default"));
      expect(error.code).toBe(DECRYPT_FAILED);
      expect(error.message).toContain(redisKey);
      expect(error.message).toContain("EASEL_FERNET_KEY");
      expect(error.message).not.toMatch(/SECRET/);
      expect(await raw.get(redisKey)).toBe(stored);
      expect(await raw.pTTL(redisKey)).toBeGreaterThan(0);
    } finally {
      await Promise.all([writer.store.close(), reader.store.close()]);
    }
  });
});

describe("unreadable values", () => {
  const fernet = () => new Fernet(ns.fernetKeys);
  const cases: [string, () => string, string][] = [
    ["plaintext JSON someone wrote by hand", () => JSON.stringify(record), DECRYPT_FAILED],
    ["a truncated token", () => fernet().encrypt(PYTHON_JSON).slice(0, -10), DECRYPT_FAILED],
    ["a token of something that is not JSON", () => fernet().encrypt("access_token=abc"), CORRUPT_RECORD],
    [
      "a token of JSON that is not a record",
      () => fernet().encrypt('{"token_type": "Bearer"}'),
      CORRUPT_RECORD,
    ],
  ];
  for (const [label, value, code] of cases) {
    it(`${label} fails with ${code} naming the key; the value stays as it was`, async () => {
      const { store, prefix } = await open(ns.fernetKeys);
      try {
        const stored = value();
        await raw.set(`${prefix}bad`, stored);
        const error = await codeOf(store.get("bad"));
        expect(error.code).toBe(code);
        expect(error.message).toContain(`${prefix}bad`);
        expect(await raw.get(`${prefix}bad`)).toBe(stored);
      } finally {
        await store.close();
      }
    });
  }

  it("a key of another Redis type (a hash) fails with CORRUPT_RECORD, not 'no token'", async () => {
    const { store, prefix } = await open(ns.fernetKeys);
    try {
      await raw.hSet(`${prefix}hash`, "access_token", "x");
      expect((await codeOf(store.get("hash"))).code).toBe(CORRUPT_RECORD);
      expect(await raw.type(`${prefix}hash`)).toBe("hash");
    } finally {
      await store.close();
    }
  });
});

describe("per-key TTL from expires_at", () => {
  const now = () => Date.now() / 1000;
  async function ttlSeconds(rec: TokenRecord, options: { graceSeconds?: number; uriGrace?: number } = {}) {
    const prefix = ns.prefix();
    const uri = ns.uri(prefix) + (options.uriGrace ? `&grace=${options.uriGrace}` : "");
    const store = new RedisTokenStore(uri, { fernetKeys: ns.fernetKeys, graceSeconds: options.graceSeconds });
    try {
      await store.set("k", rec);
      return (await raw.pTTL(`${prefix}k`)) / 1000;
    } finally {
      await store.close();
    }
  }
  const soon = { access_token: "a", token_type: "Bearer" as const, expires_at: 0 };

  it("expires_at + 30 days with a refresh_token, + 1 day without, + graceSeconds / ?grace= when given", async () => {
    const at = now() + 3600;
    const close = (actual: number, expected: number) => expect(Math.abs(actual - expected)).toBeLessThan(5);
    close(await ttlSeconds({ ...soon, expires_at: at, refresh_token: "r" }), 3600 + 30 * DAY);
    close(await ttlSeconds({ ...soon, expires_at: at }), 3600 + DAY);
    close(await ttlSeconds({ ...soon, expires_at: at, refresh_token: "r" }, { graceSeconds: 60 }), 3660);
    close(await ttlSeconds({ ...soon, expires_at: at }, { uriGrace: 120 }), 3720);
    // Written after it expired: the full grace from now, since its refresh token may still work.
    close(await ttlSeconds({ ...soon, expires_at: at - 90 * DAY, refresh_token: "r" }), 30 * DAY);
  });

  it("no expires_at means no TTL, also when it replaces a record that had one", async () => {
    const { store, prefix } = await open(ns.fernetKeys);
    try {
      await store.set("k", { ...soon, expires_at: now() + 60 });
      expect(await raw.pTTL(`${prefix}k`)).toBeGreaterThan(0);
      await store.set("k", { access_token: "a", token_type: "Bearer" });
      expect(await raw.pTTL(`${prefix}k`)).toBe(-1);
    } finally {
      await store.close();
    }
  });

  it("a dead record disappears by itself once its grace has passed", async () => {
    const { store } = await open(ns.fernetKeys, { graceSeconds: 0.3 });
    try {
      await store.set("k", { ...soon, expires_at: now() - 10 });
      expect(await store.get("k")).toBeDefined();
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(await store.get("k")).toBeUndefined();
    } finally {
      await store.close();
    }
  });
});

describe("the Fernet key", () => {
  it("missing: a TypeError naming EASEL_FERNET_KEY and `easel key generate`, before any connection", () => {
    expect(() => new RedisTokenStore("redis://127.0.0.1:1/0", { env: {} })).toThrow(
      expect.objectContaining({
        name: "InvalidArgumentError",
        code: "ERR_INVALID_ARG_VALUE",
        message: expect.stringMatching(/EASEL_FERNET_KEY.*easel key generate/s),
      }),
    );
  });

  it("taken from env.EASEL_FERNET_KEY when options.fernetKeys is absent; an invalid one is refused without echoing it", async () => {
    const store = new RedisTokenStore(ns.uri(ns.prefix()), { env: { EASEL_FERNET_KEY: ns.fernetKeys } });
    await store.set("k", record);
    expect(await store.get("k")).toEqual(record);
    await store.close();
    expect(() => new RedisTokenStore("redis://127.0.0.1:1/0", { fernetKeys: "not-a-key-zzz" })).toThrow(
      expect.objectContaining({
        code: "ERR_INVALID_ARG_VALUE",
        message: expect.not.stringContaining("not-a-key-zzz"),
      }),
    );
  });
});
