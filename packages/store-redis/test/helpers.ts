import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey } from "@easel/fernet";
import { freePort, REDIS_URL } from "@easel/test-utils";
import { createClient } from "@keyv/redis";

/** A unique key prefix per test file run, handed out in sub-prefixes, and cleaned up afterwards. */
export function testNamespace(label: string) {
  const base = `easel-test:${label}:${randomBytes(6).toString("hex")}:`;
  let next = 0;
  return {
    base,
    fernetKeys: generateKey(),
    /** A fresh prefix under the base: each store of the suite sees an empty keyspace. */
    prefix: () => `${base}${next++}:`,
    uri: (prefix: string, url = REDIS_URL) => `${url}/0?prefix=${encodeURIComponent(prefix)}`,
    cleanup: () => deleteKeys(`${base}*`),
  };
}

/** A raw client for peeking at what the store wrote. Callers close it. */
export async function rawClient(url = REDIS_URL) {
  const client = createClient({ url, socket: { reconnectStrategy: false } });
  client.on("error", () => undefined);
  await client.connect();
  return client;
}

async function deleteKeys(pattern: string): Promise<void> {
  const client = await rawClient();
  try {
    for await (const keys of client.scanIterator({ MATCH: pattern, COUNT: 500 })) {
      if (keys.length > 0) await client.unlink(keys);
    }
  } finally {
    client.destroy();
  }
}

/** A throwaway redis-server this test owns: started, paused, killed and restarted at will. */
export class ScratchRedis {
  readonly port: number;
  readonly #extraArgs: string[];
  #process: ChildProcess | undefined;
  #dir: string | undefined;

  private constructor(port: number, extraArgs: string[]) {
    this.port = port;
    this.#extraArgs = extraArgs;
  }

  static async start(extraArgs: string[] = []): Promise<ScratchRedis> {
    const server = new ScratchRedis(await freePort(), extraArgs);
    await server.restart();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** A server that speaks only TLS on its port, with a fresh self-signed certificate for localhost. */
  static async startTls(): Promise<{ server: ScratchRedis; certFile: string }> {
    const dir = await mkdtemp(join(tmpdir(), "easel-redis-tls-"));
    const [certFile, keyFile] = [join(dir, "cert.pem"), join(dir, "key.pem")];
    const openssl = spawnSync(
      "openssl",
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"]
        .concat(["-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .concat(["-keyout", keyFile, "-out", certFile]),
      { encoding: "utf8" },
    );
    if (openssl.status !== 0) throw new Error(`openssl failed: ${openssl.stderr}`);
    const port = await freePort();
    const server = new ScratchRedis(port, [
      "--port",
      "0",
      "--tls-port",
      String(port),
      "--tls-cert-file",
      certFile,
      "--tls-key-file",
      keyFile,
      "--tls-auth-clients",
      "no",
    ]);
    server.#dir = dir;
    await server.restart();
    return { server, certFile };
  }

  /** Starts (again) on the same port and resolves once it accepts connections. */
  async restart(): Promise<void> {
    this.#dir ??= await mkdtemp(join(tmpdir(), "easel-redis-"));
    const child = spawn(
      "redis-server",
      [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--daemonize",
        "no",
        "--dir",
        this.#dir,
        ...this.#extraArgs,
      ],
      { stdio: ["ignore", "pipe", "pipe"] },
    );
    this.#process = child;
    let output = "";
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${output}`)), 10_000);
      child.stdout?.on("data", (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes("Ready to accept connections")) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}: ${output}`));
      });
    });
    child.stdout?.resume();
  }

  /** SIGKILL: the port refuses connections at once. */
  async kill(): Promise<void> {
    const child = this.#process;
    this.#process = undefined;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  /** SIGSTOP: the kernel still accepts TCP connections, but nothing ever answers. */
  pause(): void {
    this.#process?.kill("SIGSTOP");
  }

  resume(): void {
    this.#process?.kill("SIGCONT");
  }

  async stop(): Promise<void> {
    this.resume();
    await this.kill();
    if (this.#dir) await rm(this.#dir, { recursive: true, force: true });
  }
}
