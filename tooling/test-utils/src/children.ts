import { type ChildProcess, spawn } from "node:child_process";

export interface NodeProcess {
  readonly child: ChildProcess;
  /**
   * Resolves with the first line the child prints: fixtures print one once they hold a lock or
   * have written, which is the parent's cue (never a timer). Rejects if the child exits first.
   */
  readonly ready: Promise<string>;
  /** Resolves with everything the child printed when it exits 0; rejects with its stderr otherwise. */
  readonly done: Promise<string>;
}

export interface NodeProcessOptions {
  /** Added to (and overriding) the parent's environment. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly uid?: number;
  readonly gid?: number;
}

/** Runs `node script ...args` with piped output. Nothing is left unhandled if the test ignores a promise. */
export function startNode(
  script: string,
  args: readonly string[],
  options: NodeProcessOptions = {},
): NodeProcess {
  const child = spawn(process.execPath, [script, ...args], {
    uid: options.uid,
    gid: options.gid,
    env: { ...process.env, ...options.env },
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
      const end = stdout.indexOf("\n");
      if (end !== -1) resolve(stdout.slice(0, end));
    });
    child.once("exit", (code, signal) =>
      reject(new Error(`${script} exited (${code ?? signal}) before printing a line: ${stderr}`)),
    );
  });
  const done = new Promise<string>((resolve, reject) => {
    child.once("exit", (code, signal) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${script} exited with ${code ?? signal}: ${stderr}`));
    });
  });
  ready.catch(() => undefined);
  done.catch(() => undefined);
  return { child, ready, done };
}

/** Runs `node script ...args` to the end; resolves with its stdout, rejects unless it exits 0. */
export function runNode(
  script: string,
  args: readonly string[],
  options: NodeProcessOptions = {},
): Promise<string> {
  return startNode(script, args, options).done;
}
