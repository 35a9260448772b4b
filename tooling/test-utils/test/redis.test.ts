import { describe, expect, it } from "vitest";
import { freePort } from "../src/net.js";
import { inCi, redisAvailable, requireRedis } from "../src/redis.js";

describe("requireRedis: what a test that needs Redis does when none answers", () => {
  it("fails in CI, naming what needs Redis and where it looked", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    await expect(requireRedis("the lock tests", { url, env: { CI: "true" } })).rejects.toThrow(
      /the lock tests need Redis, and none answers on 127\.0\.0\.1:\d+/,
    );
  });

  it("skips (resolves false) on a developer's machine", async () => {
    const url = `redis://127.0.0.1:${await freePort()}`;
    expect(await requireRedis("the lock tests", { url, env: {} })).toBe(false);
    expect(await requireRedis("the lock tests", { url, env: { CI: "false" } })).toBe(false);
  });

  it("resolves true when Redis answers, in CI or not", async ({ skip }) => {
    if (!(await redisAvailable())) skip("no Redis on this machine");
    expect(await requireRedis("the lock tests", { env: { CI: "true" } })).toBe(true);
  });

  it("reads CI the way CI services set it", () => {
    expect(inCi({ CI: "true" })).toBe(true);
    expect(inCi({ CI: "1" })).toBe(true);
    expect(inCi({ CI: "false" })).toBe(false);
    expect(inCi({ CI: "" })).toBe(false);
    expect(inCi({})).toBe(false);
  });
});
