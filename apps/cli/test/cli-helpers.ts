import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

/** The BUILT cli: these tests run `easel` the way a user does. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
if (!existsSync(BIN)) {
  throw new Error(`${BIN} is missing: build first (pnpm turbo run build --filter @easel/cli...).`);
}

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "easel-cli-"));
  made.push(dir);
  return dir;
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
  const home = env.HOME ?? tempDir();
  const result = spawnSync(process.execPath, args, {
    input: input ?? "",
    encoding: "utf8",
    env: { PATH: process.env.PATH, HOME: home, ...env },
    timeout: 30_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Why the Python interop tests cannot run here, or undefined when python3 + cryptography work. */
export const pythonUnavailable: string | undefined = (() => {
  const probe = spawnSync("python3", ["-c", "import cryptography.fernet"], { encoding: "utf8" });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status !== 0) return "python3 has no `cryptography` package (pip install cryptography)";
  return undefined;
})();
if (pythonUnavailable) console.warn(`Skipping the CLI's Python interop tests: ${pythonUnavailable}`);

export function runPython(code: string, env: Record<string, string>, input = ""): string {
  const result = spawnSync("python3", ["-c", code], {
    input,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}
