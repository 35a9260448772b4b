import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

export const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
/** Inside the repository (and ignored by git), so that temporary packages resolve the workspace's vitest. */
export const OUTPUT = fileURLToPath(new URL("../.test-output/", import.meta.url));

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory removed after the test file; under `parent` (default: the system's temp dir). */
export function tempDir(parent = tmpdir()): string {
  const dir = mkdtempSync(join(parent, "easel-scripts-"));
  made.push(dir);
  return dir;
}

/**
 * The environment of a machine with Node, npm and corepack but no pnpm: PATH without any directory
 * that holds a `pnpm` (node, npm and corepack are linked into a directory of their own first, in
 * case they lived beside one), and nothing of the test runner or the turbo task around this test.
 */
export function envWithoutPnpm(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const dirs = (process.env.PATH ?? "").split(delimiter).filter(Boolean);
  const tools = tempDir();
  for (const tool of ["node", "npm", "npx", "corepack"]) {
    const home = dirs.find((dir) => existsSync(join(dir, tool)));
    if (home) symlinkSync(join(home, tool), join(tools, tool));
  }
  const path = [tools, ...dirs.filter((dir) => !existsSync(join(dir, "pnpm")))].join(delimiter);
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(VITEST|TURBO_|npm_lifecycle|npm_package)/.test(name) && name !== "TURBO_TELEMETRY_DISABLED")
      continue;
    env[name] = value;
  }
  return { ...env, PATH: path, ...extra };
}

export interface Finished {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface Running {
  child: ChildProcess;
  /** Resolves with the first stdout line matching `pattern` (rejects if the process exits first). */
  line(pattern: RegExp): Promise<string>;
  done: Promise<Finished>;
}

/** Starts a command; `detached` gives it its own process group, to stop a whole tree. */
export function start(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv; detached?: boolean } = {},
): Running {
  const child = spawn(command, args, {
    cwd: options.cwd ?? ROOT,
    env: options.env ?? process.env,
    detached: options.detached ?? false,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const waiting: { pattern: RegExp; resolve: (line: string) => void }[] = [];
  const check = () => {
    for (const waiter of [...waiting]) {
      const match = stdout.split("\n").find((line) => waiter.pattern.test(line));
      if (match !== undefined) {
        waiting.splice(waiting.indexOf(waiter), 1);
        waiter.resolve(match);
      }
    }
  };
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
    check();
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Finished>((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  return {
    child,
    done,
    line: (pattern) =>
      new Promise((resolve, reject) => {
        waiting.push({ pattern, resolve });
        check();
        done.then(
          (end) =>
            reject(
              new Error(`exited (${end.status ?? end.signal}) before ${pattern}:\n${stdout}\n${stderr}`),
            ),
          reject,
        );
      }),
  };
}

/** Runs a command to its end. */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<Finished> {
  return start(command, args, options).done;
}
