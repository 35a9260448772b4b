import { describe, expect, it } from "vitest";
import { RedisTokenStore } from "../src/index.js";
import { parseRedisUri } from "../src/options.js";

describe("store URI", () => {
  it("parses every documented form", () => {
    expect(parseRedisUri("redis://127.0.0.1:6379")).toMatchObject({
      host: "127.0.0.1",
      port: 6379,
      tls: false,
      username: undefined,
      password: undefined,
      database: 0,
      prefix: "easel:",
      safeUri: "redis://127.0.0.1:6379/0",
    });
    expect(parseRedisUri("redis://:p%40ss%3Aword@cache/3?prefix=tenant-a:")).toMatchObject({
      host: "cache",
      port: 6379,
      password: "p@ss:word",
      database: 3,
      prefix: "tenant-a:",
    });
    expect(parseRedisUri("redis://svc-user:pw@cache:6380/1")).toMatchObject({
      username: "svc-user",
      password: "pw",
    });
    expect(parseRedisUri("rediss://cache.example:6380")).toMatchObject({
      tls: true,
      safeUri: "rediss://cache.example:6380/0",
    });
    expect(parseRedisUri("redis://cache?tls=1&grace=3600&prefix=")).toMatchObject({
      tls: true,
      graceSeconds: 3600,
      prefix: "",
    });
    expect(parseRedisUri("redis://[::1]:6379/2")).toMatchObject({
      host: "::1",
      address: "[::1]:6379",
      database: 2,
    });
  });

  const refused: [string, RegExp][] = [
    ["http://cache:6379", /unsupported scheme/],
    ["redis://:s3cret-pw@cache:6379/x", /not a database number/],
    ["redis://:s3cret-pw@cache:99999", /./],
    ["redis://:s3cret-pw@cache?db=1", /unknown parameter "db"/],
    ["redis://:s3cret-pw@cache?tls=yes", /tls must be 1 or 0/],
    ["rediss://:s3cret-pw@cache?tls=0", /always uses TLS/],
    ["redis://s3cret-pw@cache", /ambiguous/],
    ["redis://:s3cret-pw@cache?grace=-1", /grace/],
    ["not a uri :s3cret-pw@", /not a valid URI/],
    ["redis://:s3cret-pw/x@cache", /./],
  ];
  for (const [uri, why] of refused) {
    it(`refuses ${uri.replace("s3cret-pw", "***")} with ERR_INVALID_ARG_VALUE, listing the accepted forms, password masked`, () => {
      expect(() => parseRedisUri(uri)).toThrow(
        expect.objectContaining({
          code: "ERR_INVALID_ARG_VALUE",
          message: expect.stringMatching(why),
        }),
      );
      try {
        parseRedisUri(uri);
      } catch (error) {
        expect((error as Error).message).toContain("redis://[[user]:password@]host[:port][/db]");
        expect((error as Error).message).not.toContain("s3cret-pw");
        expect(error).toBeInstanceOf(TypeError);
      }
    });
  }

  it("validates options once, naming the option and the value", () => {
    const fernetKeys = "A".repeat(43) + "=";
    expect(() => new RedisTokenStore("redis://cache", { fernetKeys, connectTimeoutMs: 0 })).toThrow(
      /options\.connectTimeoutMs must be a positive finite number; received 0/,
    );
    expect(() => new RedisTokenStore("redis://cache", { fernetKeys, graceSeconds: Number.NaN })).toThrow(
      /options\.graceSeconds/,
    );
  });
});
