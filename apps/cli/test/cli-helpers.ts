import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { tempDir } from "@easel/test-utils";

/** The BUILT cli: these tests run `easel` the way a user does. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
if (!existsSync(BIN)) {
  throw new Error(`${BIN} is missing: build first (pnpm turbo run build --filter @easel/cli...).`);
}

export interface CliResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `easel ...args` with a clean environment: only PATH, a private HOME and what `env`
 * adds, so the caller's EASEL_* variables and config never leak in.
 */
export function easel(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): CliResult {
  return runNode([BIN, ...args], env, input);
}

/** Runs `node ...args` (a script and its arguments) with the same clean environment as `easel`. */
export function runNode(
  args: string[],
  env: Record<string, string | undefined> = {},
  input?: string,
): CliResult {
  const home = env.HOME ?? tempDir("easel-cli-");
  const result = spawnSync(process.execPath, args, {
    input: input ?? "",
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: home, ...env },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}
