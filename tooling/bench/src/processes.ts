import { type ChildProcess, fork } from "node:child_process";
import type { CanvasSimOptions, SimStats } from "@easel/canvas-sim";
import { childScript } from "./environment.js";

export interface ForkedChild<M> {
  child: ChildProcess;
  /** Every IPC message after the first. */
  messages: MessageQueue<unknown>;
  /** The first IPC message (children send one when ready). */
  ready: Promise<M>;
  /** Resolves with the exit code; never rejects. */
  exited: Promise<number | null>;
  kill(): void;
}

/**
 * Forks a built child script (dist/children/NAME.js) with IPC. Its stdout is ignored and its
 * stderr passed through, so a crash explains itself. `ready` rejects if the child exits first.
 */
export function forkChild<M>(
  name: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; execArgv?: string[] } = {},
): ForkedChild<M> {
  const child = fork(childScript(name), args, {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    env: options.env ?? process.env,
    execArgv: options.execArgv ?? [],
  });
  const exited = new Promise<number | null>((resolve) => {
    child.once("exit", (code) => resolve(code));
    child.once("error", () => resolve(null));
  });
  const messages = new MessageQueue<unknown>(child);
  const ready = new Promise<M>((resolve, reject) => {
    void messages.next().then((message) => resolve(message as M));
    void exited.then((code) => reject(new Error(`child ${name} exited (${code}) before it was ready`)));
  });
  // The rejection above is expected when the child ends after being ready.
  ready.catch(() => undefined);
  return {
    child,
    messages,
    ready,
    exited,
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    },
  };
}

/** A simulator running in its own process, driven over HTTP. */
export interface RemoteSim {
  url: string;
  developerToken: string;
  clientId: string;
  clientSecret: string;
  adminUserId: number;
  stats(): Promise<SimStats>;
  resetStats(): Promise<void>;
  close(): Promise<void>;
}

export async function startSimProcess(options: CanvasSimOptions): Promise<RemoteSim> {
  const forked = forkChild<Omit<RemoteSim, "stats" | "resetStats" | "close">>("sim-server", [
    JSON.stringify(options),
  ]);
  const info = await forked.ready;
  const control = async (method: string, path: string) => {
    const response = await fetch(`${info.url}/__sim/${path}`, { method });
    if (!response.ok) throw new Error(`simulator control ${method} ${path}: ${response.status}`);
    return response.json() as Promise<unknown>;
  };
  return {
    ...info,
    stats: () => control("GET", "stats") as Promise<SimStats>,
    resetStats: async () => {
      await control("POST", "reset");
    },
    close: async () => {
      if (forked.child.connected) forked.child.disconnect();
      const timer = setTimeout(() => forked.kill(), 5000);
      await forked.exited;
      clearTimeout(timer);
    },
  };
}

/**
 * Buffers a child's IPC messages from the moment it is created, so none is lost between two
 * awaits (several messages can be emitted in one tick).
 */
export class MessageQueue<M> {
  readonly #buffer: M[] = [];
  readonly #waiters: Array<(m: M) => void> = [];

  constructor(child: ChildProcess) {
    child.on("message", (message) => {
      const waiter = this.#waiters.shift();
      if (waiter) waiter(message as M);
      else this.#buffer.push(message as M);
    });
  }

  next(): Promise<M> {
    const buffered = this.#buffer.shift();
    if (buffered !== undefined) return Promise.resolve(buffered);
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}
