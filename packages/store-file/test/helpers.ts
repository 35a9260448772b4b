import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll } from "vitest";

/** Python-written caches (token-cache/) are @easel/fernet's test fixtures: one copy in the repository. */
export const VECTORS = new URL("../../fernet/test/fixtures/", import.meta.url);
export const WORKER = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));

const made: string[] = [];
afterAll(() => {
  for (const dir of made) rmSync(dir, { recursive: true, force: true });
});

/** A fresh directory removed after the test file. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "easel-store-file-"));
  made.push(dir);
  return dir;
}

/** Bytes and mtime of a file, to prove a failed read left it exactly as it was. */
export function snapshot(path: string): { bytes: string; mtimeMs: number; mode: number } {
  const stats = statSync(path);
  return { bytes: readFileSync(path).toString("hex"), mtimeMs: stats.mtimeMs, mode: stats.mode };
}

/** Why the Python interop tests cannot run here, or undefined when python3 + cryptography work. */
export const pythonUnavailable: string | undefined = (() => {
  const probe = spawnSync("python3", ["-c", "import cryptography.fernet"], { encoding: "utf8" });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status !== 0) return "python3 has no `cryptography` package (pip install cryptography)";
  return undefined;
})();
if (pythonUnavailable) console.warn(`Skipping Python interop tests: ${pythonUnavailable}`);

export function runPython(code: string, env: Record<string, string> = {}, input = ""): string {
  const result = spawnSync("python3", ["-c", code], {
    input,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}

export interface Worker {
  child: ChildProcess;
  /** Resolves on the first line the child prints (it prints once it has written or locked). */
  ready: Promise<string>;
  /** Resolves with stdout when the child exits 0. */
  done: Promise<string>;
}

/** Runs test/fixtures/worker.mjs with the store key in EASEL_FERNET_KEY. */
export function startWorker(key: string, args: string[], as: { uid?: number; gid?: number } = {}): Worker {
  const child = spawn(process.execPath, [WORKER, ...args], {
    ...as,
    env: { ...process.env, EASEL_FERNET_KEY: key },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes("\n")) resolve(stdout.slice(0, stdout.indexOf("\n")));
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`worker exited (${code ?? signal}) before ready: ${stderr}`)),
    );
  });
  ready.catch(() => undefined);
  const done = new Promise<string>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`worker exited with ${code ?? signal}: ${stderr}`));
    });
  });
  done.catch(() => undefined);
  return { child, ready, done };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
