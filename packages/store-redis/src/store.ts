import { randomBytes } from "node:crypto";
import { type BackoffOptions, backoffDelay } from "@easel/clock";
import {
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  KeyedLock,
  type LockOptions,
  LockTimeoutError,
  parseTokenRecord,
  type TokenRecord,
  type TokenStore,
} from "@easel/token-store";
import type KeyvRedis from "@keyv/redis";
import { createKeyv, type Keyv } from "@keyv/redis";
import { type RedisClient, RedisConnection } from "./connection.js";
import {
  DEFAULT_GRACE_WITH_REFRESH_SECONDS,
  DEFAULT_GRACE_WITHOUT_REFRESH_SECONDS,
  InvalidArgumentError,
  type NormalizedOptions,
  normalizeOptions,
  type RedisStoreOptions,
} from "./options.js";
import { RecordCodec } from "./record-codec.js";
import { toStoreError } from "./redis-errors.js";

/** Deletes the lock only if we still own it, so a late release never frees another holder's lock. */
const RELEASE_LOCK_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("DEL", KEYS[1]) end
return 0`;
/** Extends the lock only if we still own it, so a holder that lost it never prolongs a successor's. */
const EXTEND_LOCK_SCRIPT = `if redis.call("GET", KEYS[1]) == ARGV[1] then return redis.call("PEXPIRE", KEYS[1], ARGV[2]) end
return 0`;
const LOCK_KEY_SPACE = "lock:";
/**
 * How long a lock outlives its holder's last heartbeat: what a waiter loses to a holder killed
 * with SIGKILL. The holder renews it every LOCK_HEARTBEAT_MS while fn runs, so four beats in a
 * row must be missed (a stalled event loop, Redis unreachable) before a live holder loses it.
 */
export const LOCK_LEASE_MS = 4_000;
export const LOCK_HEARTBEAT_MS = 1_000;
/** Polling a held lock: a round trip costs little, so the cap is low and waiters notice a release soon. */
const LOCK_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 50 };
/** Beyond this a TTL protects nothing; Redis also rejects absurd expiry times. */
const MAX_RECORD_TTL_MS = 10 * 365 * 24 * 3600 * 1000;

/**
 * A `TokenStore` on Redis, through keyv + @keyv/redis. Values are Fernet tokens of the record's
 * JSON (never plaintext); `withLock` is exclusive across every process sharing the Redis.
 *
 * @example
 * ```ts
 * const store = new RedisTokenStore("redis://:s3cret@cache:6379/0?prefix=easel:", {
 *   fernetKeys: process.env.EASEL_FERNET_KEY,
 * });
 * await store.withLock("default", async () => {
 *   const record = await store.get("default");
 *   // ... refresh, then
 *   await store.set("default", { ...record!, access_token: "new" });
 * });
 * await store.close();
 * ```
 */
export class RedisTokenStore implements TokenStore {
  readonly #options: NormalizedOptions;
  readonly #codec: RecordCodec;
  readonly #keyv: Keyv<string>;
  readonly #connection: RedisConnection;
  readonly #localLock: KeyedLock;

  /**
   * Validates the URI, the options and the Fernet keys; connects on first use (or `connect()`).
   * @throws TypeError (`code: "ERR_INVALID_ARG_VALUE"`) for a malformed URI, a bad option, or a
   *   missing or invalid `EASEL_FERNET_KEY`.
   */
  constructor(uri: string, options: RedisStoreOptions = {}) {
    this.#options = normalizeOptions(uri, options);
    this.#codec = new RecordCodec(this.#options.fernetKeys);
    this.#localLock = new KeyedLock(this.#options.clock);
    const { target } = this.#options;
    this.#connection = new RedisConnection({
      target,
      connectTimeoutMs: this.#options.connectTimeoutMs,
      commandTimeoutMs: this.#options.commandTimeoutMs,
      onClient: (client) => {
        (this.#keyv.store as KeyvRedis<string>).client = client;
      },
    });
    // keyv never connects the template: every operation first takes a connected client from
    // RedisConnection, which hands each new client to the adapter.
    this.#keyv = createKeyv(this.#connection.template, {
      namespace: target.prefix === "" ? undefined : target.prefix,
      keyPrefixSeparator: "",
      // Fail loudly: for credentials an error must never read as "no token" (keyv's cache
      // default is to emit the error and return undefined).
      throwOnErrors: true,
      throwOnConnectError: true,
    }) as Keyv<string>;
    // Redis holds the Fernet token itself, not keyv's {"value":...,"expires":...} envelope:
    // the bytes are the file store's, and Redis' own TTL does the expiring.
    this.#keyv.serialize = <Value>(data: { value?: Value }): string => {
      if (typeof data.value !== "string") throw new TypeError("Only Fernet tokens are written to Redis.");
      return data.value;
    };
    this.#keyv.deserialize = <Value>(raw: string) => ({ value: raw as unknown as Value });
  }

  /** Opens the connection now and checks the server answers, instead of on first use. */
  async connect(): Promise<void> {
    await this.#run("connect", undefined, (client) => client.ping());
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const redisKey = this.#recordKey(key);
    const value = await this.#run("read", redisKey, () => this.#keyv.get(key));
    if (value === undefined) return undefined;
    return this.#codec.decode(value, `The record at Redis key "${redisKey}" on ${this.#address}`, redisKey);
  }

  async set(key: string, record: TokenRecord): Promise<void> {
    const redisKey = this.#recordKey(key);
    const valid = parseTokenRecord(record, redisKey);
    const value = this.#codec.encode(valid);
    const ttlMs = this.#ttlMs(valid);
    await this.#run("write", redisKey, () => this.#keyv.set(key, value, ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    const redisKey = this.#recordKey(key);
    return this.#run("delete", redisKey, () => this.#keyv.delete(key));
  }

  /**
   * Runs `fn` while holding `<prefix>lock:<key>` (`SET NX PX` with a random owner; released
   * by a compare-and-delete script). Callers in this process queue in memory first, so only one
   * of them polls Redis. Waiters retry with jittered backoff and fail with `LOCK_TIMEOUT` after
   * `waitMs`.
   *
   * The key lives LOCK_LEASE_MS (or `ttlMs` if shorter) and a heartbeat extends it
   * (compare-and-extend) while `fn` runs, up to `ttlMs` after the acquire: a holder that dies
   * frees the lock within the lease, a live slow holder keeps it. **If `fn` outlives `ttlMs`,
   * the holder is presumed hung, another process may take the lock and two holders run at
   * once.** Keep `ttlMs` well above the critical section.
   */
  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const lockKey = this.#lockKey(key);
    const ttlMs = Math.ceil(lockOption("ttlMs", options.ttlMs, DEFAULT_LOCK_TTL_MS, false));
    const waitMs = lockOption("waitMs", options.waitMs, DEFAULT_LOCK_WAIT_MS, true);
    const deadline = this.#options.clock.now() + waitMs;
    return this.#localLock.run(
      key,
      async () => {
        const owner = randomBytes(18).toString("base64url");
        await this.#acquire(key, lockKey, owner, Math.min(ttlMs, LOCK_LEASE_MS), waitMs, deadline);
        const heartbeat = new AbortController();
        void this.#keepAlive(lockKey, owner, this.#options.clock.now() + ttlMs, heartbeat.signal);
        try {
          return await fn();
        } finally {
          heartbeat.abort();
          await this.#release(lockKey, owner);
        }
      },
      { ttlMs, waitMs },
    );
  }

  /** Closes the connection; idempotent. Later operations fail with `STORE_UNAVAILABLE`. */
  async close(): Promise<void> {
    await this.#connection.close();
  }

  async #acquire(
    key: string,
    lockKey: string,
    owner: string,
    ttlMs: number,
    waitMs: number,
    deadline: number,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const reply = await this.#run("acquire the lock", lockKey, (client) =>
        client.set(lockKey, owner, { condition: "NX", expiration: { type: "PX", value: ttlMs } }),
      );
      if (reply === "OK") return;
      const remaining = deadline - this.#options.clock.now();
      if (remaining <= 0) {
        throw new LockTimeoutError(
          `Timed out after ${waitMs} ms waiting for the lock on "${key}": Redis key "${lockKey}" on ` +
            `${this.#address} is held by another process (a dead holder's lock frees itself within ` +
            `${Math.min(ttlMs, LOCK_LEASE_MS)} ms).`,
          { location: lockKey },
        );
      }
      // Jitter on a capped exponential backoff keeps many waiters from polling in step.
      await this.#options.clock.sleep(Math.min(remaining, backoffDelay(attempt, LOCK_BACKOFF)));
    }
  }

  /**
   * Renews the lease every LOCK_HEARTBEAT_MS until `signal` aborts, never past `until` (the
   * holder's ttlMs) and never once the lock is someone else's. Its first sleep starts before this
   * returns, so a test on a manual clock sees the heartbeat waiting as soon as fn runs.
   */
  async #keepAlive(lockKey: string, owner: string, until: number, signal: AbortSignal): Promise<void> {
    const { clock } = this.#options;
    try {
      for (;;) {
        await clock.sleep(LOCK_HEARTBEAT_MS, signal);
        const left = until - clock.now();
        if (left <= 0) return;
        const leaseMs = String(Math.ceil(Math.min(LOCK_LEASE_MS, left)));
        // Compare-and-extend: 0 when the lock was taken over, and then it is left alone. A failure
        // (Redis unreachable for now) is retried at the next beat.
        await this.#run("extend the lock", lockKey, (client) =>
          client.eval(EXTEND_LOCK_SCRIPT, { keys: [lockKey], arguments: [owner, leaseMs] }),
        ).catch(() => undefined);
      }
    } catch {
      // Aborted: fn is done and the lock is being released.
    }
  }

  async #release(lockKey: string, owner: string): Promise<void> {
    try {
      await this.#run("release the lock", lockKey, (client) =>
        client.eval(RELEASE_LOCK_SCRIPT, { keys: [lockKey], arguments: [owner] }),
      );
    } catch {
      // fn's outcome stands; the lock expires by itself after its ttl.
    }
  }

  #ttlMs(record: TokenRecord): number | undefined {
    const expiresAt = record.expires_at;
    if (typeof expiresAt !== "number") return undefined;
    const grace =
      this.#options.graceSeconds ??
      (record.refresh_token ? DEFAULT_GRACE_WITH_REFRESH_SECONDS : DEFAULT_GRACE_WITHOUT_REFRESH_SECONDS);
    // An already expired record still gets the full grace from now: its refresh token may work.
    const untilExpiry = Math.max(0, expiresAt * 1000 - this.#options.clock.now());
    return Math.min(MAX_RECORD_TTL_MS, Math.ceil(untilExpiry + grace * 1000));
  }

  async #run<T>(
    action: string,
    redisKey: string | undefined,
    command: (client: RedisClient) => Promise<T>,
  ): Promise<T> {
    try {
      return await this.#connection.run(command);
    } catch (error) {
      throw toStoreError(error, {
        address: this.#address,
        action,
        redisKey,
        password: this.#options.target.password,
      });
    }
  }

  get #address(): string {
    return this.#options.target.address;
  }

  #recordKey(key: string): string {
    checkKey(key);
    if (key.startsWith(LOCK_KEY_SPACE)) {
      throw new InvalidArgumentError(
        `Record keys may not start with "${LOCK_KEY_SPACE}" (that key space holds the store's locks); received "${key}".`,
      );
    }
    return this.#options.target.prefix + key;
  }

  #lockKey(key: string): string {
    checkKey(key);
    return this.#options.target.prefix + LOCK_KEY_SPACE + key;
  }
}

function checkKey(key: unknown): asserts key is string {
  if (typeof key !== "string" || key === "") {
    throw new InvalidArgumentError(
      `A record key must be a non-empty string; received ${JSON.stringify(key)}.`,
    );
  }
}

function lockOption(name: string, value: unknown, fallback: number, zeroAllowed: boolean): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0 || (value === 0 && !zeroAllowed)) {
    throw new InvalidArgumentError(
      `withLock options.${name} must be a ${zeroAllowed ? "non-negative" : "positive"} finite number; received ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Opens a Redis token store from `redis://` / `rediss://` URI and checks the server answers.
 * This is the factory `@easel/config` maps those schemes to.
 *
 * @example
 * ```ts
 * const store = await createTokenStore("redis://127.0.0.1:6379/0?prefix=easel:", {
 *   fernetKeys: process.env.EASEL_FERNET_KEY,
 * });
 * ```
 * @throws StoreUnavailableError (`STORE_UNAVAILABLE`) Redis unreachable within `connectTimeoutMs`.
 * @throws StoreAuthError (`STORE_AUTH_FAILED`) the password (or ACL user) was refused.
 */
export async function createTokenStore(uri: string, options?: RedisStoreOptions): Promise<RedisTokenStore> {
  const store = new RedisTokenStore(uri, options);
  try {
    await store.connect();
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}
