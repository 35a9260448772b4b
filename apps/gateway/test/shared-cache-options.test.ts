import { generateKey } from "@easel/fernet";
import { REDIS_URL, requireRedis, uniqueRedisPrefix } from "@easel/test-utils";
import { afterAll, describe, expect, it } from "vitest";
import { createGateway, createSharedCacheStore, parseSharedCacheUrl } from "../src/index.js";

const base = {
  mode: "service" as const,
  canvasBaseUrl: "http://127.0.0.1:9",
  auth: "dev-token",
  apiKeys: ["test-key-0123456789abcdef"],
  logger: false as const,
};

describe("the cache option (EASEL_GATEWAY_CACHE)", () => {
  it("parses redis URLs: host, port, db, prefix (default easel:gw:), TLS, credentials kept out of safeUrl", () => {
    expect(parseSharedCacheUrl("redis://cache:6380/2?prefix=app1:")).toMatchObject({
      host: "cache",
      port: 6380,
      database: 2,
      prefix: "app1:",
      tls: false,
    });
    const secret = parseSharedCacheUrl("rediss://:s3cret@cache/0");
    expect(secret).toMatchObject({ tls: true, password: "s3cret", prefix: "easel:gw:", port: 6379 });
    expect(JSON.stringify((secret as { safeUrl: string }).safeUrl)).not.toContain("s3cret");
  });

  it.each([
    ["http://cache:6379", 'unsupported scheme "http:"'],
    ["redis://cache:6379/x", '"/x" is not a database number'],
    ["redis://cache:6379/0?db=1", 'unknown parameter "db"'],
    ["redis://:pw@cache:99999", "not a URL"],
    ["redis://cache:6379/0?prefix=", "prefix is empty"],
  ])("refuses %s with a TypeError naming the option and the reason, never the value", (url, reason) => {
    let caught: unknown;
    try {
      createGateway({ ...base, cache: url, cacheFernetKeys: generateKey() });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(TypeError);
    expect((caught as { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
    const message = (caught as Error).message;
    expect(message).toContain('Gateway option "cache"');
    expect(message).toContain(reason);
    expect(message).toContain("(value hidden)");
    expect(message).not.toContain("pw@");
  });

  it("refuses to start without a Fernet key (cached lists hold student data), naming EASEL_FERNET_KEY", () => {
    const saved = process.env.EASEL_FERNET_KEY;
    delete process.env.EASEL_FERNET_KEY;
    try {
      expect(() => createGateway({ ...base, cache: "redis://127.0.0.1:6379" })).toThrowError(
        expect.objectContaining({
          code: "ERR_INVALID_ARG_VALUE",
          message: expect.stringMatching(/"cacheFernetKeys".*EASEL_FERNET_KEY/s),
        }),
      );
      expect(() =>
        createGateway({ ...base, cache: "redis://127.0.0.1:6379", cacheFernetKeys: "not-a-key" }),
      ).toThrowError(
        expect.objectContaining({
          code: "ERR_INVALID_ARG_VALUE",
          message: expect.stringContaining("(value hidden)"),
        }),
      );
    } finally {
      if (saved !== undefined) process.env.EASEL_FERNET_KEY = saved;
    }
  });
});

const redisUp = await requireRedis("the shared cache store cases");

describe.skipIf(!redisUp)("createSharedCacheStore: what another cache (responses) plugs in", () => {
  const key = generateKey();
  const url = `${REDIS_URL}/0?prefix=${encodeURIComponent(uniqueRedisPrefix("cache-store"))}`;
  const a = createSharedCacheStore(url, { namespace: "responses", fernetKeys: key });
  const b = createSharedCacheStore(url, { namespace: "responses", fernetKeys: key });
  const other = createSharedCacheStore(url, { namespace: "other", fernetKeys: key });
  afterAll(async () => {
    await Promise.all([a.close(), b.close(), other.close()]);
  });

  it("values and generations are shared by stores of one namespace, and only by them", async () => {
    await a.set("user:1|doc", { data: [1, 2] }, 60_000);
    expect(await b.get("user:1|doc")).toEqual({ data: [1, 2] });
    expect(await other.get("user:1|doc")).toBeUndefined();
    expect(await b.generation("user:1")).toBe(0);
    await a.bumpGeneration("user:1");
    expect(await b.generation("user:1")).toBe(1);
    expect(await b.generation("user:2")).toBe(0);
    await b.delete("user:1|doc");
    expect(await a.get("user:1|doc")).toBeUndefined();
  });

  it("a store with other Fernet keys reads nothing (values are encrypted)", async () => {
    await a.set("secret", { name: "Student Name" }, 60_000);
    const stranger = createSharedCacheStore(url, { namespace: "responses", fernetKeys: generateKey() });
    try {
      expect(await stranger.get("secret")).toBeUndefined();
    } finally {
      await stranger.close();
    }
  });
});
