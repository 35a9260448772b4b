import { describe, expect, it } from "vitest";
import { envWithoutPnpm, run, start } from "./helpers.js";

// Each root script the way a user with only Node, npm and corepack runs it: `npm run X` with no pnpm
// on PATH. turbo finds what CI already built in its cache, so these are seconds after `npm test`'s build.
const MINUTES = 60_000;

describe("root scripts without pnpm on PATH", () => {
  it("the PATH these tests use has no pnpm", async () => {
    const which = await run("sh", ["-c", "command -v pnpm"], { env: envWithoutPnpm() });
    expect(which.stdout).toBe("");
    expect(which.status).not.toBe(0);
  });

  it.each([["build"], ["typecheck"], ["lint"], ["format:check"]])(
    "npm run %s works",
    async (script) => {
      const result = await run("npm", ["run", script], { env: envWithoutPnpm() });
      expect(result.stderr).not.toContain("Unable to find package manager binary");
      expect({ status: result.status, output: result.stdout + result.stderr }).toMatchObject({ status: 0 });
    },
    20 * MINUTES,
  );

  it(
    "npm run bench reaches the harness (its usage, not a full run)",
    async () => {
      const result = await run("npm", ["run", "bench", "--", "--help"], { env: envWithoutPnpm() });
      expect(result.stderr).toMatch(/usage: pnpm bench .*\n\s+benches: \S+/);
      expect(result.status).toBe(2);
    },
    20 * MINUTES,
  );

  it(
    "npm start prints the demo's banner, and stops on SIGTERM",
    async () => {
      const demo = start("npm", ["start", "--", "--port", "0"], { env: envWithoutPnpm(), detached: true });
      try {
        expect(await demo.line(/GraphiQL\s+http:\/\/127\.0\.0\.1:\d+\/graphql/)).toBeTruthy();
      } finally {
        process.kill(-demo.child.pid!, "SIGTERM");
      }
      await demo.done;
    },
    20 * MINUTES,
  );
});
