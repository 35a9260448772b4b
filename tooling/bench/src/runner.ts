import { fork } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { packageMissing } from "./environment.js";
import type { Bench, BenchContext, BenchOutput, BenchResult, BenchSize } from "./harness.js";

/** The message a bench's process sends its parent when done. */
type ChildMessage = { type: "result"; output: BenchOutput } | { type: "error"; message: string };

function baseResult(
  bench: Bench,
  size: BenchSize,
  startedAt: Date,
): Omit<BenchResult, "status" | "durationMs"> {
  return {
    name: bench.name,
    title: bench.title,
    issueItem: bench.issueItem,
    summary: bench.summary,
    size,
    startedAt: startedAt.toISOString(),
  };
}

function makeTmpDir(bench: Bench): Promise<string> {
  return mkdtemp(join(tmpdir(), `easel-bench-${bench.name}-`));
}

/** The first required package that is not built, as "skipped: <package> not built". */
export function missingRequirement(bench: Bench): string | undefined {
  for (const specifier of bench.requires) {
    const missing = packageMissing(specifier);
    if (missing) return missing;
  }
  return undefined;
}

/**
 * Runs a bench in this process (the smoke test does; `run.ts --child` does inside its own
 * process). Errors become a `failed` result; the temporary directory is always removed.
 */
export async function runBenchInProcess(
  bench: Bench,
  options: { size: BenchSize; timeCapMs?: number; tmpDir?: string },
): Promise<BenchResult> {
  const startedAt = new Date();
  const base = baseResult(bench, options.size, startedAt);
  const missing = missingRequirement(bench);
  if (missing) return { ...base, status: "skipped", reason: missing, durationMs: 0 };
  const tmpDir = options.tmpDir ?? (await makeTmpDir(bench));
  const deadline = Date.now() + (options.timeCapMs ?? bench.timeCapMs);
  const ctx: BenchContext = {
    size: options.size,
    deadline,
    tmpDir,
    remainingMs: () => deadline - Date.now(),
    log: (message) => process.stderr.write(`[${bench.name}] ${message}\n`),
  };
  try {
    const output = await bench.run(ctx);
    return { ...base, status: "ok", durationMs: Date.now() - startedAt.getTime(), output };
  } catch (error) {
    const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
    return { ...base, status: "failed", reason, durationMs: Date.now() - startedAt.getTime() };
  } finally {
    await rm(tmpDir, { recursive: true, force: true });
  }
}

/** Entry of `run.js --child NAME --size SIZE`: runs one bench and reports to the parent. */
export async function runAsChild(
  bench: Bench,
  size: BenchSize,
  timeCapMs: number,
  tmpDir: string | undefined,
): Promise<void> {
  const result = await runBenchInProcess(bench, { size, timeCapMs, tmpDir });
  const message: ChildMessage =
    result.status === "ok" && result.output
      ? { type: "result", output: result.output }
      : { type: "error", message: result.reason ?? result.status };
  await new Promise<void>((resolve) => process.send!(message, () => resolve()));
}

/**
 * Runs a bench in a process group of its own with a hard cap: after `timeCapMs` the whole
 * group (the bench, its simulators and workers) is killed, so nothing outlives the run.
 */
export async function runBenchIsolated(bench: Bench, size: BenchSize): Promise<BenchResult> {
  const startedAt = new Date();
  const base = baseResult(bench, size, startedAt);
  const missing = missingRequirement(bench);
  if (missing) return { ...base, status: "skipped", reason: missing, durationMs: 0 };
  const script = fileURLToPath(new URL("./run.js", import.meta.url));
  // Made here, so it is removed even when the bench is killed at its cap.
  const tmpDir = await makeTmpDir(bench);
  const child = fork(script, ["--child", bench.name, "--size", size, "--tmp", tmpDir], {
    detached: true,
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  let message: ChildMessage | undefined;
  child.on("message", (m) => {
    message = m as ChildMessage;
  });
  let timedOut = false;
  const killGroup = () => {
    try {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    } catch {
      // The group is already gone.
    }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup();
  }, bench.timeCapMs);
  const onSignal = () => {
    killGroup();
    process.exit(130);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  // Whatever the bench left running in its group (it should have closed everything) goes now.
  killGroup();
  await rm(tmpDir, { recursive: true, force: true });
  const durationMs = Date.now() - startedAt.getTime();
  if (timedOut) {
    return {
      ...base,
      status: "timeout",
      reason: `killed after its ${Math.round(bench.timeCapMs / 1000)} s cap`,
      durationMs,
    };
  }
  if (message?.type === "result") return { ...base, status: "ok", durationMs, output: message.output };
  if (message?.type === "error") return { ...base, status: "failed", reason: message.message, durationMs };
  return { ...base, status: "failed", reason: `bench process exited (${code}) without a result`, durationMs };
}
