import { type BackoffOptions, backoffDelay, type Clock } from "@easel/clock";
import {
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  KeyedLock,
  type LockOptions,
  parseTokenRecord,
  StoreConflictError,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
} from "@easel/token-store";
import { AppRoleAuth, StaticTokenAuth, type VaultAuth } from "./auth.js";
import { CasLock } from "./cas-lock.js";
import { VaultKvClient } from "./kv-client.js";
import { invalidArgument, normalizeOptions, type VaultStoreOptions } from "./options.js";
import { VaultTransport } from "./transport.js";

/**
 * Computes the next record from the current one (undefined when absent). Return undefined to
 * leave the record as it is. May run more than once: keep it free of side effects.
 */
export type RecordUpdater = (
  current: TokenRecord | undefined,
) => TokenRecord | undefined | Promise<TokenRecord | undefined>;

/** Entries under `PATH/.locks/`; record keys are encoded so they can never start with ".". */
const LOCK_DIR = ".locks";
/** Between check-and-set attempts that lost a race. */
const CAS_BACKOFF: BackoffOptions = { baseMs: 8, maxMs: 250 };

/**
 * Token records in HashiCorp Vault KV version 2, one secret per key at `MOUNT/data/PATH/<key>`,
 * the record's fields stored as the secret's data. Every write is a check-and-set; `withLock` is a
 * cas-written lock entry, exclusive across every process that shares the Vault.
 *
 * @example
 * ```ts
 * const store = new VaultTokenStore("vault+https://vault.internal:8200/secret/easel/tokens", {
 *   env: { VAULT_ROLE_ID: "...", VAULT_SECRET_ID: "..." },
 * });
 * await store.withLock("default", async () => {
 *   const record = await store.get("default");
 *   // refresh, then store.set("default", fresh)
 * });
 * ```
 */
export class VaultTokenStore implements TokenStore {
  readonly #kv: VaultKvClient;
  readonly #auth: VaultAuth;
  readonly #lock: CasLock;
  readonly #local: KeyedLock;
  readonly #clock: Clock;
  readonly #maxCasAttempts: number;
  /** Version this store last saw per key, so a `set` after a `get` needs no extra read. */
  readonly #versions = new Map<string, number>();
  /** Writes of one key from this process run one after another: they never race each other. */
  readonly #queues = new Map<string, Promise<unknown>>();
  #closed = false;

  /**
   * @param uri `vault+http(s)://host[:port]/MOUNT[/PATH]` (port defaults to 8200)
   * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a malformed URI or option
   * @throws StoreAuthError when the environment holds no Vault credentials
   */
  constructor(uri: string, options: VaultStoreOptions = {}) {
    const config = normalizeOptions(uri, options);
    const transport = new VaultTransport(config.target, config.namespace, config.timeoutMs);
    this.#auth =
      config.auth.kind === "token"
        ? new StaticTokenAuth(config.auth.token)
        : new AppRoleAuth(transport, config.auth, () => config.clock.now());
    this.#kv = new VaultKvClient(transport, this.#auth, config.target, config.clock);
    this.#clock = config.clock;
    this.#lock = new CasLock(this.#kv, config.clock);
    this.#local = new KeyedLock(config.clock);
    this.#maxCasAttempts = config.maxCasAttempts;
  }

  /** The Vault address (`http(s)://host:port`) this store talks to. */
  get address(): string {
    return this.#kv.address;
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    const path = this.#kv.dataPath(this.#segment(key));
    const read = await this.#kv.read(path);
    this.#versions.set(key, read.version);
    return read.kind === "live" ? parseTokenRecord(read.data, `${this.address}${path}`) : undefined;
  }

  /** Replaces the whole record atomically (a cas write; retried on a concurrent write). */
  async set(key: string, record: TokenRecord): Promise<void> {
    const path = this.#kv.dataPath(this.#segment(key));
    const valid = parseTokenRecord(record, `${this.address}${path}`);
    await this.#serially(key, async () => {
      let version = this.#versions.get(key);
      for (let attempt = 1; attempt <= this.#maxCasAttempts; attempt++) {
        version ??= (await this.#kv.read(path)).version;
        const written = await this.#kv.writeCas(path, valid, version);
        if (written.ok) {
          this.#versions.set(key, written.version);
          return;
        }
        version = undefined;
        await this.#casBackoff(attempt);
      }
      throw this.#conflict(key, path);
    });
  }

  /**
   * Read-modify-write without a lock: reads the record, computes the next one with `updater`,
   * and writes it with check-and-set on the version read. When another writer got in between,
   * it re-reads and calls `updater` again, so no update is ever lost.
   *
   * @returns the record now stored
   * @throws StoreConflictError after `maxCasAttempts` lost races
   * @example
   * ```ts
   * await store.update("default", (r) => r && { ...r, access_token: fresh });
   * ```
   */
  async update(key: string, updater: RecordUpdater): Promise<TokenRecord | undefined> {
    if (typeof updater !== "function")
      throw invalidArgument(`update(key, updater): updater must be a function; received ${typeof updater}.`);
    const path = this.#kv.dataPath(this.#segment(key));
    const location = `${this.address}${path}`;
    return this.#serially(key, async () => {
      for (let attempt = 1; attempt <= this.#maxCasAttempts; attempt++) {
        const read = await this.#kv.read(path);
        const current = read.kind === "live" ? parseTokenRecord(read.data, location) : undefined;
        const next = await updater(current === undefined ? undefined : structuredClone(current));
        if (next === undefined) return current;
        const valid = parseTokenRecord(next, location);
        const written = await this.#kv.writeCas(path, valid, read.version);
        if (written.ok) {
          this.#versions.set(key, written.version);
          return valid;
        }
        await this.#casBackoff(attempt);
      }
      throw this.#conflict(key, path);
    });
  }

  /** Removes every version and the metadata (`DELETE /v1/MOUNT/metadata/...`). */
  async delete(key: string): Promise<boolean> {
    const segment = this.#segment(key);
    return this.#serially(key, async () => {
      const read = await this.#kv.read(this.#kv.dataPath(segment));
      await this.#kv.deleteAll(this.#kv.metadataPath(segment));
      this.#versions.set(key, 0);
      return read.kind === "live";
    });
  }

  /**
   * Runs `fn` while holding the lock on `key` across every process sharing this Vault: first the
   * in-process lock, then the cas-written lock entry at `PATH/.locks/<key>`.
   * The entry is held for a short lease its heartbeat renews while `fn` runs, so a holder that dies
   * frees it within seconds. **A holder that runs longer than `ttlMs` is presumed hung and loses
   * the lock.**
   */
  async withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = options.ttlMs ?? DEFAULT_LOCK_TTL_MS;
    const waitMs = options.waitMs ?? DEFAULT_LOCK_WAIT_MS;
    if (!(ttlMs > 0) || !Number.isFinite(ttlMs))
      throw invalidArgument(`withLock options.ttlMs must be > 0 ms; received ${ttlMs}.`);
    if (!(waitMs >= 0) || !Number.isFinite(waitMs))
      throw invalidArgument(`withLock options.waitMs must be >= 0 ms; received ${waitMs}.`);
    const lockPath = this.#kv.dataPath(`${LOCK_DIR}/${this.#segment(key)}`);
    const deadline = this.#clock.now() + waitMs;
    return this.#local.run(
      key,
      async () => {
        const lease = await this.#lock.acquire(lockPath, ttlMs, deadline, key);
        const heartbeat = new AbortController();
        const beating = this.#lock.keepAlive(lease, heartbeat.signal);
        try {
          return await fn();
        } finally {
          heartbeat.abort();
          await beating; // a renewal in flight moves the version the release casts on
          // If Vault is unreachable now, the entry simply expires with its lease; fn's outcome stands.
          await this.#lock.release(lease).catch(() => undefined);
        }
      },
      { ttlMs, waitMs },
    );
  }

  /** Revokes an AppRole token this store logged in with and closes its sockets. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#auth.close();
    this.#kv.close();
  }

  #segment(key: string): string {
    if (this.#closed) {
      throw new StoreUnavailableError(`This Vault store (${this.address}) is closed.`, {
        location: this.address,
      });
    }
    if (typeof key !== "string" || key === "")
      throw invalidArgument(`A token store key must be a non-empty string; received ${JSON.stringify(key)}.`);
    return encodeKey(key);
  }

  #serially<T>(key: string, task: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(key) ?? Promise.resolve();
    const run = previous.then(task, task);
    const tail = run.catch(() => undefined);
    this.#queues.set(key, tail);
    void tail.then(() => {
      if (this.#queues.get(key) === tail) this.#queues.delete(key);
    });
    return run;
  }

  /** Growing, random pauses break the symmetry between writers that keep colliding. */
  #casBackoff(attempt: number): Promise<void> {
    return this.#clock.sleep(backoffDelay(attempt, CAS_BACKOFF));
  }

  #conflict(key: string, path: string): StoreConflictError {
    return new StoreConflictError(
      `Gave up writing "${key}" after ${this.#maxCasAttempts} check-and-set attempts: other writers kept changing it.`,
      { location: `${this.address}${path}` },
    );
  }
}

/**
 * One URL- and Vault-safe path segment per key, reversible and injective: `[A-Za-z0-9_-]` stay,
 * every other UTF-8 byte becomes `~XX`. So "a/b" stays one secret (Vault would decode %2F into a
 * path separator), "../escape" cannot climb, and no key can collide with `.locks`.
 */
export function encodeKey(key: string): string {
  let out = "";
  for (const byte of Buffer.from(key, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9_-]/.test(char) ? char : `~${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}
