import { spawn } from "node:child_process";
import { connect } from "node:net";
import { fileURLToPath } from "node:url";
import type { CanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { REDIS_URL } from "@easel/test-utils";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import type { AuthLogger } from "../src/index.js";

/** Deletes every Redis key under `prefix` (SCAN + DEL; never FLUSHALL), over a bare RESP socket. */
export async function cleanupRedisPrefix(prefix: string): Promise<number> {
  const redis = await respConnection();
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const reply = (await redis.command(["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "500"])) as [
        string,
        string[],
      ];
      cursor = reply[0];
      if (reply[1].length > 0) deleted += (await redis.command(["DEL", ...reply[1]])) as number;
    } while (cursor !== "0");
  } finally {
    redis.close();
  }
  return deleted;
}

/** Keys under `prefix` right now. */
export async function redisKeys(prefix: string): Promise<string[]> {
  const redis = await respConnection();
  const found: string[] = [];
  try {
    let cursor = "0";
    do {
      const reply = (await redis.command(["SCAN", cursor, "MATCH", `${prefix}*`, "COUNT", "500"])) as [
        string,
        string[],
      ];
      cursor = reply[0];
      found.push(...reply[1]);
    } while (cursor !== "0");
  } finally {
    redis.close();
  }
  return found;
}

type Resp = string | number | null | Resp[];

/** Just enough RESP2 for test cleanup: one command at a time. */
async function respConnection(): Promise<{ command(args: string[]): Promise<Resp>; close(): void }> {
  const { hostname, port } = new URL(REDIS_URL);
  const socket = connect(Number(port || 6379), hostname || "127.0.0.1");
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  });
  let buffer = Buffer.alloc(0);
  let waiter: (() => void) | undefined;
  socket.on("data", (chunk) => {
    buffer = Buffer.concat([buffer, chunk]);
    waiter?.();
  });
  const parse = (at: number): [Resp, number] | undefined => {
    const end = buffer.indexOf("\r\n", at);
    if (end === -1) return undefined;
    const type = String.fromCharCode(buffer[at]!);
    const line = buffer.toString("utf8", at + 1, end);
    if (type === "+") return [line, end + 2];
    if (type === "-") throw new Error(`redis: ${line}`);
    if (type === ":") return [Number(line), end + 2];
    if (type === "$") {
      const length = Number(line);
      if (length === -1) return [null, end + 2];
      if (buffer.length < end + 2 + length + 2) return undefined;
      return [buffer.toString("utf8", end + 2, end + 2 + length), end + 2 + length + 2];
    }
    const count = Number(line);
    const items: Resp[] = [];
    let next = end + 2;
    for (let i = 0; i < count; i++) {
      const parsed = parse(next);
      if (!parsed) return undefined;
      items.push(parsed[0]);
      next = parsed[1];
    }
    return [items, next];
  };
  return {
    async command(args) {
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("")}`);
      for (;;) {
        const parsed = parse(0);
        if (parsed) {
          buffer = buffer.subarray(parsed[1]);
          return parsed[0];
        }
        await new Promise<void>((resolve) => {
          waiter = resolve;
        });
      }
    },
    close: () => socket.destroy(),
  };
}

export interface CapturedLogger extends AuthLogger {
  readonly lines: string[];
  text(): string;
}

/** A logger that keeps every line as JSON text, to assert on what a log would contain. */
export function captureLogger(): CapturedLogger {
  const lines: string[] = [];
  const write =
    (level: string) =>
    (fields: Record<string, unknown>, message: string): void => {
      lines.push(JSON.stringify({ level, ...fields, msg: message }));
    };
  return {
    lines,
    text: () => lines.join("\n"),
    debug: write("debug"),
    info: write("info"),
    warn: write("warn"),
    error: write("error"),
  };
}

/** Wraps a store to count writes, for "the record was never touched" assertions. */
export function countingStore(store: TokenStore): TokenStore & { sets: number; deletes: number } {
  const counted = {
    sets: 0,
    deletes: 0,
    get: (key: string) => store.get(key),
    set: async (key: string, record: TokenRecord) => {
      counted.sets++;
      await store.set(key, record);
    },
    delete: async (key: string) => {
      counted.deletes++;
      return store.delete(key);
    },
    withLock: <T>(key: string, fn: () => Promise<T>, options?: { ttlMs?: number; waitMs?: number }) =>
      store.withLock(key, fn, options),
    close: () => store.close(),
  };
  return counted;
}

/** GET with a Bearer token; returns status, whether WWW-Authenticate came back, and JSON. */
export async function canvasGet(
  url: string,
  token: string,
): Promise<{ status: number; challenged: boolean; body: unknown; link: string | null }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = text;
  }
  return {
    status: response.status,
    challenged: response.headers.has("www-authenticate"),
    body,
    link: response.headers.get("link"),
  };
}

/** The rel="next" URL of a Canvas Link header (links joined by ","). */
export function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const match = /<([^>]+)>\s*;\s*rel="next"/.exec(part);
    if (match) return match[1];
  }
  return undefined;
}

export const FIXTURES = new URL("./fixtures/", import.meta.url);

/**
 * Node children on a fixture script that run rounds on command: each prints "ready", runs a
 * round when it reads "go" (printing one JSON line), and exits when it reads "exit". Starting a
 * process costs far more than a round, so one pool serves several rounds.
 */
export class ChildPool {
  readonly #children: ReturnType<typeof spawn>[];
  readonly #lines: string[][];
  readonly #waiters: Array<(() => void) | undefined>;
  readonly #stderr: string[];
  readonly #exits: Promise<number | null>[];

  constructor(script: string, count: number, env: Record<string, string>) {
    this.#children = Array.from({ length: count }, () =>
      spawn(process.execPath, [fileURLToPath(new URL(script, FIXTURES))], {
        env: { ...process.env, ...env },
        stdio: ["pipe", "pipe", "pipe"],
      }),
    );
    this.#lines = this.#children.map(() => []);
    this.#waiters = this.#children.map(() => undefined);
    this.#stderr = this.#children.map(() => "");
    this.#exits = this.#children.map((child, i) => {
      let partial = "";
      child.stdout!.setEncoding("utf8").on("data", (chunk: string) => {
        partial += chunk;
        const lines = partial.split("\n");
        partial = lines.pop()!;
        this.#lines[i]!.push(...lines.filter(Boolean));
        this.#waiters[i]?.();
      });
      child.stderr!.setEncoding("utf8").on("data", (chunk: string) => {
        this.#stderr[i] += chunk;
      });
      return new Promise((resolve) =>
        child.once("exit", (code) => {
          this.#waiters[i]?.();
          resolve(code);
        }),
      );
    });
  }

  async #nextLine(i: number): Promise<string> {
    for (;;) {
      const line = this.#lines[i]!.shift();
      if (line !== undefined) return line;
      if (this.#children[i]!.exitCode !== null) {
        throw new Error(`child ${i} exited ${this.#children[i]!.exitCode}: ${this.#stderr[i]}`);
      }
      await new Promise<void>((resolve) => {
        this.#waiters[i] = resolve;
      });
    }
  }

  /** Waits until every child is ready, starts them at once, returns each child's result. */
  async round(): Promise<unknown[]> {
    await Promise.all(
      this.#children.map(async (_, i) => {
        const line = await this.#nextLine(i);
        if (line !== "ready") throw new Error(`child ${i} said "${line}" instead of ready`);
      }),
    );
    for (const child of this.#children) child.stdin!.write("go\n");
    return Promise.all(this.#children.map(async (_, i) => JSON.parse(await this.#nextLine(i)) as unknown));
  }

  async close(): Promise<void> {
    for (const child of this.#children) child.stdin!.end("exit\n");
    const codes = await Promise.all(this.#exits);
    codes.forEach((code, i) => {
      if (code !== 0) throw new Error(`child ${i} exited ${code}: ${this.#stderr[i]}`);
    });
  }
}

/**
 * A `ManualClock` for a token manager that talks to `sim`: it starts at the simulator's "now", and
 * `advance(seconds)` moves the simulator and the clock together, so the manager and Canvas agree
 * on what has expired.
 */
export function clockWithSim(sim: CanvasSim): { clock: ManualClock; advance(seconds: number): void } {
  const clock = new ManualClock(sim.now());
  return {
    clock,
    advance: (seconds) => {
      sim.advanceClock(seconds);
      clock.set(clock.now() + seconds * 1000);
    },
  };
}

/**
 * Settles `work`, waking every sleep it reaches on `clock` (refresh retry backoff) by moving the
 * clock forward a millisecond at a time: exactly as far as the code chose to wait, never for real.
 */
export async function settleWith<T>(clock: ManualClock, work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.then(
    () => {
      settled = true;
    },
    () => {
      settled = true;
    },
  );
  while (!settled) {
    await Promise.race([clock.untilSleeping(), done]);
    while (!settled && clock.sleeping > 0) await clock.advance(1);
  }
  return work;
}
