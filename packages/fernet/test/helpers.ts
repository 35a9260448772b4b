import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/**
 * Test fixtures: fernet/ holds the Fernet specification's vectors, token-cache/ caches written by Python's
 * `cryptography` (regenerate with tooling/scripts/regen-python-fixtures.py).
 */
export const VECTORS = new URL("./fixtures/", import.meta.url);

export function readVector<T>(relative: string): T {
  return JSON.parse(readFileSync(new URL(relative, VECTORS), "utf8")) as T;
}

/** Epoch seconds of an ISO time such as "1985-10-26T01:20:01-07:00". */
export function epochSeconds(iso: string): number {
  return Date.parse(iso) / 1000;
}

/** Why the Python interop tests cannot run here, or undefined when python3 + cryptography work. */
export const pythonUnavailable: string | undefined = (() => {
  const probe = spawnSync("python3", ["-c", "import cryptography.fernet"], { encoding: "utf8" });
  if (probe.error) return `python3 not found (${probe.error.message})`;
  if (probe.status !== 0) return "python3 has no `cryptography` package (pip install cryptography)";
  return undefined;
})();
if (pythonUnavailable) console.warn(`Skipping Python interop tests: ${pythonUnavailable}`);

/** Runs a Python snippet with stdin and returns stdout; throws with stderr on failure. */
export function runPython(code: string, input = "", env: Record<string, string> = {}): string {
  const result = spawnSync("python3", ["-c", code], {
    input,
    encoding: "utf8",
    env: { ...process.env, ...env },
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}
