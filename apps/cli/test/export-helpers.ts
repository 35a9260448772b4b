import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { CanvasClient } from "@easel/canvas-client";
import { type CanvasSim, type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";
import { type ExportFormat, type ExportKind, exportCourses } from "@easel/export";

/** The BUILT cli: these tests run `easel` the way a user (or cron) does. */
export const BIN = fileURLToPath(new URL("../dist/bin.js", import.meta.url));
if (!existsSync(BIN))
  throw new Error(`${BIN} is missing: build first (pnpm turbo run build --filter @easel/cli...).`);

export function startSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  return createCanvasSim({
    seed: 9,
    courses: 8,
    studentsPerCourse: 40,
    assignmentsPerCourse: 6,
    throttle: false,
    ...options,
  });
}

export interface Running {
  child: ChildProcess;
  /** True once the process has exited. */
  readonly exited: boolean;
  /** What the process printed so far (for waiting on a line while it runs). */
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited, with everything it printed. */
  done: Promise<{ status: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

/**
 * Starts `easel ...args` asynchronously (the simulator lives in this process, so a blocking
 * spawnSync would starve it) with a clean environment: PATH, a private HOME and `env`. With
 * `input`, that text is written to stdin, which then closes; otherwise stdin is empty.
 */
export function startEasel(
  args: string[],
  env: Record<string, string | undefined>,
  home: string,
  input?: string,
): Running {
  const child = spawn(process.execPath, [BIN, ...args], {
    env: { PATH: process.env.PATH, HOME: home, ...env },
    stdio: [input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  if (input !== undefined) child.stdin!.end(input);
  return running(child);
}

/** Runs a shell command line (as a user pastes it) with `easel` on PATH. */
export function startShell(
  command: string,
  env: Record<string, string | undefined>,
  binDir: string,
  home: string,
): Running {
  const child = spawn("/bin/sh", ["-c", command], {
    env: { PATH: `${binDir}:${process.env.PATH}`, HOME: home, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  return running(child);
}

function running(child: ChildProcess): Running {
  let stdout = "";
  let stderr = "";
  child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
    stdout += chunk;
  });
  child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
    stderr += chunk;
  });
  const done = new Promise<Awaited<Running["done"]>>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr }));
  });
  let exited = false;
  const markExited = () => {
    exited = true;
  };
  done.then(markExited, markExited);
  return {
    child,
    done,
    stdout: () => stdout,
    stderr: () => stderr,
    get exited() {
      return exited;
    },
  };
}

/** `easel ...args` to the end: its exit status and everything it printed. */
export async function easel(
  args: string[],
  env: Record<string, string | undefined>,
  home: string,
  input?: string,
) {
  return startEasel(args, env, home, input).done;
}

/** The same export through the library: what the CLI's file must equal byte for byte. */
export async function libraryExport(
  sim: CanvasSim,
  kind: ExportKind,
  courseIds: number[],
  format: ExportFormat,
  output: string,
): Promise<void> {
  const client = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
  try {
    await exportCourses({ client, kind, courseIds, format, output });
  } finally {
    await client.close();
  }
}

/**
 * Polls `check` until it returns true while `process` runs; fails (with what the process printed)
 * when it exits first or after `timeoutMs`.
 */
export async function waitWhileRunning(
  process: Running,
  check: () => Promise<boolean>,
  what: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    if (process.exited) {
      const { status, stderr } = await process.done;
      throw new Error(`easel exited (${status}) before ${what}: ${stderr}`);
    }
    // The poll interval: the child runs in its own process, so there is no hook to wait on.
    await sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The URL `easel serve` prints once it listens (waits for that line while it runs). */
export async function gatewayUrl(run: Running): Promise<string> {
  let url: string | undefined;
  await waitWhileRunning(
    run,
    async () => {
      url = /on (http:\/\/\S+)\/graphql/.exec(run.stderr())?.[1];
      return url !== undefined;
    },
    "the gateway's URL",
  );
  return url!;
}
