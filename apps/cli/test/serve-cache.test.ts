import { generateKey } from "@easel/fernet";
import { REDIS_URL, requireRedis, tempDir, uniqueRedisPrefix } from "@easel/test-utils";
import { afterAll, describe, expect, it, vi } from "vitest";
import { easel } from "./cli-helpers.js";
import { type Running, startEasel, startSim } from "./export-helpers.js";

// `easel serve --cache URL` / EASEL_GATEWAY_CACHE: checked before anything starts (exit 2 with
// what to fix, the URL's password never echoed), and passed to the gateway when good.
const KEYS = { EASEL_GATEWAY_KEYS: "cli-cache-key-0123456789", CANVAS_ACCESS_TOKEN: "unused-token" };
const BASE = ["serve", "--base-url", "http://127.0.0.1:9", "--port", "0"];

describe("easel serve --cache", () => {
  it("refuses a URL that is not redis:// (exit 2), naming the flag, the env variable and the reason", () => {
    const result = easel([...BASE, "--cache", "http://cache:6379"], {
      ...KEYS,
      EASEL_FERNET_KEY: generateKey(),
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("--cache (EASEL_GATEWAY_CACHE)");
    expect(result.stderr).toContain('unsupported scheme "http:"');
  });

  it("never echoes the password of a bad URL, from the environment too", () => {
    const result = easel(BASE, {
      ...KEYS,
      EASEL_FERNET_KEY: generateKey(),
      EASEL_GATEWAY_CACHE: "redis://:hunter2-secret@cache:6379/banana",
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain('"/banana" is not a database number');
    expect(result.stderr).not.toContain("hunter2-secret");
  });

  it("in user mode, needs one EASEL_SESSION_SECRET for every replica (a random one per process would split sessions)", () => {
    const result = easel(
      ["serve", "--mode", "user", "--base-url", "http://127.0.0.1:9", "--port", "0", "--store", "memory:"],
      {
        CANVAS_CLIENT_ID: "1",
        CANVAS_CLIENT_SECRET: "client-secret",
        EASEL_FERNET_KEY: generateKey(),
        EASEL_GATEWAY_CACHE: "redis://127.0.0.1:6379/0",
      },
    );
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("EASEL_SESSION_SECRET");
  });

  it("needs EASEL_FERNET_KEY (cached lists hold student data)", () => {
    const result = easel([...BASE, "--cache", "redis://127.0.0.1:6379/0"], KEYS);
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("EASEL_FERNET_KEY");
  });
});

const redisUp = await requireRedis("the easel serve --cache case");

describe.skipIf(!redisUp)("easel serve with a shared cache", () => {
  let serving: Running | undefined;
  afterAll(async () => {
    serving?.child.kill("SIGTERM");
    await serving?.done;
  });

  it("serves with the cache: /readyz checks it, and the banner shows it without credentials", async () => {
    const sim = await startSim({ courses: 1, studentsPerCourse: 3, assignmentsPerCourse: 1 });
    try {
      const prefix = uniqueRedisPrefix("cli-serve");
      serving = startEasel(
        ["serve", "--base-url", sim.url, "--port", "0", "--log-level", "info"],
        {
          EASEL_GATEWAY_KEYS: KEYS.EASEL_GATEWAY_KEYS,
          CANVAS_ACCESS_TOKEN: sim.developerToken,
          EASEL_FERNET_KEY: generateKey(),
          EASEL_GATEWAY_CACHE: `${REDIS_URL}/0?prefix=${encodeURIComponent(prefix)}`,
        },
        tempDir("easel-cli-cache-"),
      );
      const url = await vi.waitFor(
        () => {
          const match = /on (http:\/\/[\d.:]+)\/graphql/.exec(serving!.stderr());
          expect(match, serving!.stderr()).not.toBeNull();
          return match![1]!;
        },
        { timeout: 20_000, interval: 50 },
      );
      expect(serving.stderr()).toContain("shared cache redis://");
      const ready = await fetch(`${url}/readyz`);
      expect(await ready.json()).toMatchObject({ checks: { sharedCache: "ok" } });
      expect(ready.status).toBe(200);
    } finally {
      await sim.close();
    }
  });
});
