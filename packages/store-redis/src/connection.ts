import { isIP } from "node:net";
import { createClient, type RedisClientType } from "@keyv/redis";
import type { RedisTarget } from "./options.js";
import { RedisDeadlineError } from "./redis-errors.js";

export type RedisClient = RedisClientType;

export interface ConnectionOptions {
  target: RedisTarget;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** Called with every new client, so keyv sends its commands through it. */
  onClient: (client: RedisClient) => void;
}

/**
 * Owns the Redis connection with bounds a CLI can live with:
 *
 * - no background reconnect loop (`reconnectStrategy: false`): a lost connection stays lost
 *   until the next operation opens a fresh one, so a Redis that comes back is picked up by
 *   itself and a Redis that stays down costs each operation at most `connectTimeoutMs`;
 * - no offline queue (`disableOfflineQueue`): a command on a dead connection rejects at once
 *   instead of waiting for a reconnect that never comes;
 * - a deadline on connecting (TCP + TLS + AUTH) and on each command, because a frozen server
 *   accepts TCP connections and never answers.
 *
 * Each attempt gets a fresh client: a client abandoned mid-handshake never comes back to life
 * under a later attempt.
 */
export class RedisConnection {
  readonly #options: ConnectionOptions;
  /**
   * Never connected: the options every connection attempt is duplicated from. duplicate() skips
   * createClient's per-options command-class build, which costs tens of ms per call.
   */
  readonly template: RedisClient;
  #client: RedisClient | undefined;
  #opening: Promise<RedisClient> | undefined;
  #closed = false;

  constructor(options: ConnectionOptions) {
    this.#options = options;
    const { target, connectTimeoutMs } = options;
    const socket = {
      host: target.host,
      port: target.port,
      // The socket's own timer covers TCP (and TLS) connect; it fires before our overall deadline
      // so that the deadline only ever interrupts the handshake, where destroy() is clean.
      connectTimeout: Math.max(1, Math.floor(connectTimeoutMs * 0.75)),
      reconnectStrategy: false as const,
    };
    this.template = createClient({
      // SNI takes a host name only (RFC 6066); Node warns when given an IP address.
      socket: target.tls
        ? { ...socket, tls: true, servername: isIP(target.host) ? undefined : target.host }
        : socket,
      username: target.username,
      password: target.password,
      database: target.database,
      disableOfflineQueue: true,
    });
  }

  /** A connected client, opening one if needed. Callers use it before yielding to I/O. */
  ready(): Promise<RedisClient> {
    if (this.#closed) return Promise.reject(new Error("The Redis token store was closed."));
    const client = this.#client;
    if (client?.isOpen && client.isReady) return Promise.resolve(client);
    this.#opening ??= this.#open().finally(() => {
      this.#opening = undefined;
    });
    return this.#opening;
  }

  /**
   * Runs one command (or a few) on a ready client within `commandTimeoutMs`. On timeout the
   * client is dropped, so the command's late reply cannot delay the next caller.
   */
  async run<T>(command: (client: RedisClient) => Promise<T>): Promise<T> {
    const client = await this.ready();
    try {
      return await withDeadline(
        command(client),
        this.#options.commandTimeoutMs,
        `no reply within ${this.#options.commandTimeoutMs} ms`,
      );
    } catch (error) {
      if (error instanceof RedisDeadlineError) this.#drop(client);
      throw error;
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#opening?.catch(() => undefined);
    const client = this.#client;
    this.#client = undefined;
    if (!client?.isOpen) return;
    try {
      // close() lets in-flight commands finish; a frozen server must not hold close() forever.
      await withDeadline(client.close(), this.#options.commandTimeoutMs, "close timed out");
    } catch {
      this.#drop(client);
    }
  }

  async #open(): Promise<RedisClient> {
    const { connectTimeoutMs } = this.#options;
    this.#drop(this.#client);
    const client: RedisClient = this.template.duplicate();
    // Without a listener an 'error' event would crash the process; failures surface as rejections.
    client.on("error", () => undefined);
    this.#client = client;
    this.#options.onClient(client);
    try {
      await withDeadline(
        client.connect(),
        connectTimeoutMs,
        `could not connect within ${connectTimeoutMs} ms`,
      );
    } catch (error) {
      this.#drop(client);
      throw error;
    }
    if (this.#closed) {
      this.#drop(client);
      throw new Error("The Redis token store was closed.");
    }
    return client;
  }

  #drop(client: RedisClient | undefined): void {
    if (!client) return;
    if (this.#client === client) this.#client = undefined;
    try {
      client.destroy();
    } catch {
      // Already closed: nothing to free.
    }
  }
}

/** Races `promise` against a timer that is always cleared; the loser's rejection is swallowed. */
export function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new RedisDeadlineError(message)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
