import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runNode } from "./cli-helpers.js";

const FAILING_CLI = fileURLToPath(new URL("./fixtures/failing-cli.mjs", import.meta.url));
const TOKEN = "7~UnexpectedErrorToken0123456789abcdefghijklmnopqrstuvwxyzAB";
const SECRETS = [TOKEN, "hunter2hunter2", "7~abcdefghijklmnopqrstuvwxyz0123"];

function fail(command: string, env: Record<string, string> = {}) {
  return runNode([FAILING_CLI, command], { CANVAS_ACCESS_TOKEN: TOKEN, ...env });
}

describe("an error nobody worded for users", () => {
  it("prints one line and how to see more (exit 1), never a secret", () => {
    const result = fail("bug");
    expect(result.status).toBe(1);
    expect(result.stdout).toBe("");
    const lines = result.stderr.trimEnd().split("\n");
    expect(lines).toEqual([
      expect.stringMatching(/^easel: unexpected error: TypeError: Cannot read properties of undefined/),
      "(run with EASEL_DEBUG=1 for details)",
    ]);
    expect(lines[0]).toContain("https://robot:***@canvas.example/api");
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack frames
    for (const secret of SECRETS) expect(result.stderr).not.toContain(secret);
  });

  it("with EASEL_DEBUG=1 adds the stack and the cause's, still without a secret", () => {
    const result = fail("bug", { EASEL_DEBUG: "1" });
    expect(result.status).toBe(1);
    expect(result.stderr).not.toContain("(run with EASEL_DEBUG=1");
    expect(result.stderr).toMatch(/\n {4}at .*failing-cli\.mjs/);
    expect(result.stderr).toContain("Caused by: Error: the cause, with Authorization: Bearer ***");
    for (const secret of SECRETS) expect(result.stderr).not.toContain(secret);
  });
});

describe("an error with a documented code", () => {
  it("prints [CODE] and its message, without the debugging hint (exit 1)", () => {
    const result = fail("coded");
    expect(result.status).toBe(1);
    expect(result.stderr).toBe("easel: [STORE_UNAVAILABLE] Redis at 127.0.0.1:6390 did not answer\n");
  });
});
