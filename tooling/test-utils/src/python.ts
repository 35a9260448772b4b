import { spawnSync } from "node:child_process";

const probed = new Map<string, string | undefined>();

/**
 * Why a Python cross-check cannot run here (no python3, or no `module`), or undefined when it
 * can. Warns once per reason, so a skipped check is visible in the test output.
 *
 * @example
 * const noPython = pythonUnavailable("cryptography.fernet");
 * describe.skipIf(noPython !== undefined)("interop with Python", () => { ... });
 */
export function pythonUnavailable(module?: string): string | undefined {
  const key = module ?? "";
  if (probed.has(key)) return probed.get(key);
  const probe = spawnSync("python3", ["-c", module ? `import ${module}` : "pass"], { encoding: "utf8" });
  let reason: string | undefined;
  if (probe.error) reason = `python3 not found (${probe.error.message})`;
  else if (probe.status !== 0)
    reason = `python3 cannot import ${module} (pip install ${module?.split(".")[0]})`;
  probed.set(key, reason);
  if (reason) console.warn(`Skipping the Python cross-checks: ${reason}`);
  return reason;
}

export interface RunPythonOptions {
  /** Written to the script's stdin. */
  readonly input?: string;
  /** Added to (and overriding) the parent's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** Runs a Python snippet and returns its stdout; throws with its stderr when it fails. */
export function runPython(code: string, options: RunPythonOptions = {}): string {
  const result = spawnSync("python3", ["-c", code], {
    input: options.input ?? "",
    encoding: "utf8",
    env: { ...process.env, ...options.env },
  });
  if (result.status !== 0) throw new Error(`python3 failed (${result.status}): ${result.stderr}`);
  return result.stdout;
}
