import { describe, expect, it } from "vitest";
import { CanvasClient, type CanvasLogger } from "../src/index.js";

function typeError(fn: () => unknown): TypeError & { code?: string } {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(TypeError);
    return error as TypeError & { code?: string };
  }
  throw new Error("expected a TypeError");
}

describe("options are validated once, in the constructor", () => {
  const base = { baseUrl: "http://127.0.0.1:9", auth: "token" };

  it.each([
    ["baseUrl", { ...base, baseUrl: "ftp://x" }],
    ["baseUrl", { ...base, baseUrl: "not a url" }],
    ["auth", { ...base, auth: "" }],
    ["auth", { ...base, auth: { getAccessToken: () => "x" } }],
    ["perPage", { ...base, perPage: 0 }],
    ["maxConcurrency", { ...base, maxConcurrency: 1.5 }],
    ["timeoutMs", { ...base, timeoutMs: -1 }],
    ["retry.retries", { ...base, retry: { retries: -1 } }],
    ["retry.maxDelayMs", { ...base, retry: { minDelayMs: 100, maxDelayMs: 10 } }],
    ["pacing.leakPerSecond", { ...base, pacing: { leakPerSecond: 0 } }],
    ["pacing.reserve", { ...base, pacing: { reserve: -1 } }],
    ["pacing.pauseBelow", { ...base, pacing: { pauseBelow: Number.NaN } }],
    ["pacing.budget", { ...base, pacing: { budget: { acquire: async () => ({ granted: true, id: "x" }) } } }],
    ["logger", { ...base, logger: { info() {} } }],
    ["userAgent", { ...base, userAgent: "a\nb" }],
    ["clock", { ...base, clock: { now: Date.now } }],
    ["clock", { ...base, clock: Date }],
  ])("rejects a bad %s with a TypeError naming it", (option, options) => {
    const error = typeError(() => new CanvasClient(options as never));
    expect(error.message).toContain(`"${option}"`);
    expect(error.code).toBe("ERR_INVALID_ARG_VALUE");
  });

  it("never echoes a token, even a malformed one", () => {
    const error = typeError(() => new CanvasClient({ ...base, auth: "secret-token-value\r\nX-Evil: 1" }));
    expect(error.message).not.toContain("secret-token-value");
    const withCredentials = typeError(
      () => new CanvasClient({ ...base, baseUrl: "https://user:pw-secret@canvas.test" }),
    );
    expect(withCredentials.message).not.toContain("pw-secret");
  });

  it("warns about plain http:// on a non-loopback host, not on loopback", () => {
    const warnings: string[] = [];
    const logger: CanvasLogger = {
      debug() {},
      info() {},
      warn: (_obj, msg) => warnings.push(String(msg)),
      error() {},
    };
    new CanvasClient({ baseUrl: "http://127.0.0.1:3000", auth: "t", logger });
    new CanvasClient({ baseUrl: "http://localhost:3000", auth: "t", logger });
    new CanvasClient({ baseUrl: "https://canvas.example.edu", auth: "t", logger });
    expect(warnings).toHaveLength(0);
    new CanvasClient({ baseUrl: "http://canvas.example.edu", auth: "t", logger });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/unencrypted/);
  });

  it("clamps perPage above Canvas's cap of 100 and refuses a request path that leaves the origin", async () => {
    const canvas = new CanvasClient({ ...base, perPage: 500 });
    expect(canvas.options.perPage).toBe(100);
    await expect(canvas.request("GET", "https://evil.example/api/v1/users/self")).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(canvas.request("GET", "api/v1/users/self")).rejects.toBeInstanceOf(TypeError);
    await canvas.close();
  });
});
