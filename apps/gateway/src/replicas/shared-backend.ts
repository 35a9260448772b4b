import { isIP } from "node:net";
import { type FernetToken, MultiFernet } from "@easel/fernet";
import { createClient, createKeyv, type Keyv, type RedisClientType } from "@keyv/redis";
import type { Logger } from "pino";
import type { SharedCacheTarget } from "./cache-url.js";

/** A shared-cache operation could not reach Redis (down, unreachable, too slow). */
export const SHARED_CACHE_UNAVAILABLE = "SHARED_CACHE_UNAVAILABLE";

/**
 * Redis behind `EASEL_GATEWAY_CACHE` did not answer. Cached reads fall back to Canvas; session
 * lookups answer 503 `SESSION_STORE_UNAVAILABLE`. The message names the server, never credentials.
 */
export class SharedCacheUnavailableError extends Error {
  readonly code = SHARED_CACHE_UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

export interface SharedBackendOptions {
  target: SharedCacheTarget;
  /** `EASEL_FERNET_KEY`-style list: comma-separated keys, the first encrypts, all decrypt. */
  fernetKeys: string;
  log: Logger;
  /** How long the first connection may take before operations fail (later ones fail at once). @default 2000 */
  connectTimeoutMs?: number;
  /** One command's bound: a frozen Redis costs a request at most this long. @default 1000 */
  commandTimeoutMs?: number;
}

/** Compare-and-delete: a holder whose lock expired never frees its successor's. */
const UNLOCK_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;

/**
 * The one Redis connection a gateway replica shares with the others: keyv (+ @keyv/redis) for
 * values, the same node-redis client for the few atomic commands keyv has no word for (INCR,
 * SET NX PX, GETDEL, a compare-and-delete script). Every value is a Fernet token of its JSON:
 * cached lists hold student data and sessions name users.
 *
 * Posture (the opposite of the token store's, on purpose): a cache must degrade, not fail. The
 * client reconnects by itself in the background (`reconnectStrategy`), and with
 * `disableOfflineQueue` a command issued while Redis is away rejects at once instead of waiting
 * for a reconnect (node-redis `ClientOfflineError`), so a request never hangs on a dead Redis.
 * The first failure logs one warning and the first success after it one info line.
 */
export class SharedBackend {
  readonly target: SharedCacheTarget;
  readonly #client: RedisClientType;
  readonly #keyv: Keyv<string>;
  readonly #fernet: MultiFernet;
  readonly #log: Logger;
  readonly #commandTimeoutMs: number;
  /** Settles once the first connection is ready (or gave up waiting for it). */
  readonly #firstReady: Promise<void>;
  #state: "starting" | "up" | "down" = "starting";
  #closed = false;

  /** @throws TypeError (`ERR_INVALID_ARG_VALUE`) when `fernetKeys` is not a valid key list. */
  constructor(options: SharedBackendOptions) {
    this.target = options.target;
    this.#log = options.log;
    this.#commandTimeoutMs = options.commandTimeoutMs ?? 1_000;
    try {
      this.#fernet = MultiFernet.fromKeyList(options.fernetKeys);
    } catch (error) {
      const why = (error instanceof Error ? error.message : String(error)).replace(/\.$/, "");
      const invalid = new TypeError(
        `The gateway's shared cache needs a valid Fernet key list (EASEL_FERNET_KEY, or the cacheFernetKeys ` +
          `option): ${why}. Create one with \`easel key generate\`; every replica needs the same keys.`,
        { cause: error },
      );
      (invalid as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
      throw invalid;
    }
    const { target } = options;
    const connectTimeoutMs = options.connectTimeoutMs ?? 2_000;
    const socket = {
      host: target.host,
      port: target.port,
      connectTimeout: connectTimeoutMs,
      // Keep trying in the background: a Redis that comes back is used again without a restart.
      reconnectStrategy: (retries: number) =>
        Math.min(50 * 2 ** retries, 1_000) + Math.floor(Math.random() * 50),
    };
    this.#client = createClient({
      socket: target.tls
        ? { ...socket, tls: true as const, servername: isIP(target.host) ? undefined : target.host }
        : socket,
      username: target.username,
      password: target.password,
      database: target.database,
      disableOfflineQueue: true,
    }) as RedisClientType;
    // Without a listener an 'error' event would crash the process; failures surface per command.
    this.#client.on("error", () => undefined);
    this.#client.on("ready", () => this.#up());
    this.#keyv = createKeyv(this.#client, {
      namespace: target.prefix,
      keyPrefixSeparator: "",
      // keyv's cache default swallows errors into `undefined`; here a failure must be told from a
      // miss (a session lookup that failed is a 503, not "logged out").
      throwOnErrors: true,
      throwOnConnectError: true,
    }) as Keyv<string>;
    this.#keyv.on("error", () => undefined);
    (this.#keyv.store as { on?: (event: string, fn: () => void) => void }).on?.("error", () => undefined);
    // Redis holds the Fernet token itself, not keyv's {"value","expires"} envelope: Redis' own
    // PX expiry does the expiring (see @keyv/redis `set(key, value, ttl)`).
    this.#keyv.serialize = <Value>(data: { value?: Value }): string => String(data.value);
    this.#keyv.deserialize = <Value>(raw: string) => ({ value: raw as unknown as Value });
    const connecting = this.#client.connect().then(
      () => undefined,
      () => undefined,
    );
    this.#firstReady = Promise.race([
      connecting,
      new Promise<void>((resolve) => setTimeout(resolve, connectTimeoutMs).unref()),
    ]);
  }

  /** Whether the last operation reached Redis. */
  get available(): boolean {
    return this.#state === "up";
  }

  /** `prefix + key`: what keyv writes for `key`. */
  redisKey(key: string): string {
    return `${this.target.prefix}${key}`;
  }

  /** The value stored under `key` (decrypted JSON), or undefined. A value that does not decrypt counts as absent. */
  async getJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.#run("read", () => this.#keyv.get(key));
    return raw === undefined ? undefined : this.#open<T>(key, raw);
  }

  /** Stores `value` (JSON, encrypted) for `ttlMs`. */
  async setJson(key: string, value: unknown, ttlMs: number): Promise<void> {
    const token = this.#fernet.encrypt(JSON.stringify(value));
    await this.#run("write", () => this.#keyv.set(key, token, Math.max(1, Math.ceil(ttlMs))));
  }

  async delete(key: string): Promise<void> {
    await this.#run("delete", () => this.#keyv.delete(key));
  }

  /** Reads and deletes in one step (GETDEL), so two replicas never both take it. */
  async takeJson<T>(key: string): Promise<T | undefined> {
    const raw = await this.#run("take", () => this.#client.getDel(this.redisKey(key)));
    return typeof raw === "string" ? this.#open<T>(key, raw) : undefined;
  }

  /** Counters (0 when absent), in order. */
  async counters(keys: readonly string[]): Promise<number[]> {
    if (keys.length === 0) return [];
    const values = await this.#run("read counters", () =>
      this.#client.mGet(keys.map((k) => this.redisKey(k))),
    );
    return values.map((value) => (typeof value === "string" ? Number(value) || 0 : 0));
  }

  /** Increments a counter and (re)sets its lifetime. */
  async bump(key: string, ttlMs: number): Promise<void> {
    const redisKey = this.redisKey(key);
    await this.#run("bump a counter", () =>
      this.#client.multi().incr(redisKey).pExpire(redisKey, Math.ceil(ttlMs)).exec(),
    );
  }

  /** `SET key token NX PX ttl`: true when this caller now holds the lock. */
  async tryLock(key: string, token: string, ttlMs: number): Promise<boolean> {
    const reply = await this.#run("lock", () =>
      this.#client.set(this.redisKey(key), token, {
        condition: "NX",
        expiration: { type: "PX", value: Math.ceil(ttlMs) },
      }),
    );
    return reply === "OK";
  }

  async isLocked(key: string): Promise<boolean> {
    return (await this.#run("check a lock", () => this.#client.exists(this.redisKey(key)))) === 1;
  }

  async unlock(key: string, token: string): Promise<void> {
    await this.#run("unlock", () =>
      this.#client.eval(UNLOCK_SCRIPT, { keys: [this.redisKey(key)], arguments: [token] }),
    );
  }

  /** Readiness: Redis answers PING within the command bound. */
  async ping(): Promise<boolean> {
    await this.#run("ping", () => this.#client.ping());
    return true;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      if (this.#client.isReady) await withDeadline(this.#client.close(), this.#commandTimeoutMs);
      else this.#client.destroy();
    } catch {
      this.#client.destroy();
    }
  }

  async #run<T>(action: string, command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new SharedCacheUnavailableError("The gateway's shared cache was closed.");
    if (this.#state === "starting" && !this.#client.isReady) await this.#firstReady;
    try {
      const result = await withDeadline(command(), this.#commandTimeoutMs);
      this.#up();
      return result;
    } catch (error) {
      const failure = new SharedCacheUnavailableError(
        `Redis at ${this.target.safeUrl} is unavailable: could not ${action} (${reason(error)}).`,
        { cause: error },
      );
      this.#down(failure);
      throw failure;
    }
  }

  #open<T>(key: string, raw: string): T | undefined {
    try {
      return JSON.parse(this.#fernet.decrypt(raw as FernetToken).toString("utf8")) as T;
    } catch (error) {
      // Another replica with other keys, or a tampered value: never served, never fatal.
      this.#log.error(
        { err: { message: reason(error) }, key: this.redisKey(key) },
        "a shared-cache value did not decrypt: do all replicas have the same EASEL_FERNET_KEY?",
      );
      return undefined;
    }
  }

  #up(): void {
    if (this.#state === "down")
      this.#log.info({ redis: this.target.safeUrl }, "shared cache reachable again");
    this.#state = "up";
  }

  #down(error: SharedCacheUnavailableError): void {
    if (this.#state === "down") return;
    this.#state = "down";
    // One line per outage, not one per request.
    this.#log.warn(
      { err: { message: error.message, code: error.code }, redis: this.target.safeUrl },
      "shared cache unavailable: cached reads go to Canvas, sessions answer 503 until Redis returns",
    );
  }
}

function reason(error: unknown): string {
  if (error instanceof Error) return (error.message || error.name).split("\n")[0]!;
  return String(error);
}

function withDeadline<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no reply within ${ms} ms`)), ms);
  });
  promise.catch(() => undefined);
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}
