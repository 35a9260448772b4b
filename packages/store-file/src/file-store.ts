import { constants } from "node:fs";
import { mkdir, open, unlink } from "node:fs/promises";
import { dirname, join } from "node:path";
import { type Clock, systemClock } from "@easel/clock";
import { type FernetKey, InvalidKeyError, InvalidTokenError, MultiFernet } from "@easel/fernet";
import {
  CorruptRecordError,
  DEFAULT_LOCK_TTL_MS,
  DEFAULT_LOCK_WAIT_MS,
  DecryptFailedError,
  InsecurePermissionsError,
  KeyedLock,
  type LockOptions,
  parseTokenRecord,
  pythonJsonDumps,
  StoreUnavailableError,
  type TokenRecord,
  type TokenStore,
  TokenStoreError,
} from "@easel/token-store";
import { fsyncDirectory, writeFileAtomic } from "./atomic-write.js";
import { FileLock } from "./file-lock.js";
import { fileNameForKey } from "./file-names.js";
import { sweepScratch } from "./scratch.js";
import { invalidArg } from "./uri.js";

export interface FileTokenStoreOptions {
  /**
   * The record file (`file:PATH`: every key reads and writes this one record, the
   * Python-compatible single cache), or with `directory: true` the directory that holds one
   * file per key (`file:DIR/`).
   */
  path: string;
  /**
   * One file per key under `path`.
   * @default true when `path` ends with "/", else false
   */
  directory?: boolean;
  /**
   * The Fernet keys: `EASEL_FERNET_KEY`'s comma-separated list, an array, or a MultiFernet.
   * The first key encrypts; every key decrypts, so records written under an old key stay
   * readable and are rewritten under the first key on their next write.
   */
  fernetKeys: string | readonly FernetKey[] | MultiFernet;
  /**
   * Where lock ttls, lock waits and backoff run; processes sharing a lock file must use clocks
   * that agree (NTP). Tests pass a `ManualClock`.
   * @default systemClock
   */
  clock?: Clock;
}

/** Group and others must have no access at all to a file that holds a credential. */
const PRIVATE_MODE_MASK = 0o077;
const MOVE_ASIDE_FIX =
  "move it aside (e.g. `mv FILE FILE.bad`) and store the credential again with `easel token import`";

interface LoadedRecord {
  record: TokenRecord;
  /** Which Fernet key opened it: 0 is the first (current) key. */
  keyIndex: number;
}

/**
 * Token records in Fernet-encrypted files, byte-compatible with a Python job that does
 * `Fernet(key).encrypt(json.dumps(record).encode())`.
 *
 * - Writes are atomic (temp file, fsync, rename, fsync dir); files are 0600, new dirs 0700.
 * - A file that cannot be read (wrong key, tampered, truncated, not JSON, not a record,
 *   readable by others) raises a typed error and is never modified: `set` and `delete`
 *   refuse to replace it, so a misconfigured key can never wipe a working credential.
 * - `withLock` is exclusive across processes through a `<file>.lock` file beside the record.
 *
 * @example
 * ```ts
 * const store = new FileTokenStore({ path: "/var/lib/easel/tokens/", fernetKeys: process.env.EASEL_FERNET_KEY! });
 * await store.withLock("default", async () => {
 *   const record = await store.get("default");
 *   await store.set("default", { ...record!, access_token: "new" });
 * });
 * ```
 */
export class FileTokenStore implements TokenStore {
  readonly #root: string;
  readonly #directory: boolean;
  readonly #fernet: MultiFernet;
  readonly #clock: Clock;
  readonly #localLock: KeyedLock;
  readonly #swept = new Set<string>();

  constructor(options: FileTokenStoreOptions) {
    if (typeof options?.path !== "string" || options.path === "") {
      throw invalidArg(
        `FileTokenStore needs options.path: the record file or the directory of records; received ${describe(options?.path)}.`,
      );
    }
    this.#directory = options.directory ?? (options.path.endsWith("/") || options.path.endsWith("\\"));
    this.#root = options.path;
    this.#fernet = fernetFrom(options.fernetKeys);
    this.#clock = options.clock ?? systemClock;
    this.#localLock = new KeyedLock(this.#clock);
  }

  /** Where the record of `key` lives (the one file, in single-file mode). */
  pathFor(key: string): string {
    if (typeof key !== "string") throw invalidArg(`A record key must be a string; received ${typeof key}.`);
    return this.#directory ? join(this.#root, fileNameForKey(key)) : this.#root;
  }

  async get(key: string): Promise<TokenRecord | undefined> {
    return (await this.#load(this.pathFor(key)))?.record;
  }

  async set(key: string, record: TokenRecord): Promise<void> {
    const path = this.pathFor(key);
    const valid = parseTokenRecord(record, path);
    const token = this.#fernet.encrypt(pythonJsonDumps(valid));
    await this.#assertReplaceable(path, "overwrite");
    try {
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      await writeFileAtomic(path, token);
    } catch (cause) {
      throw unavailable(path, "write", cause);
    }
    if (!this.#swept.has(path)) {
      // Temp files of writers killed mid-write are harmless but untidy: clear them once per path.
      this.#swept.add(path);
      await sweepScratch(path);
    }
  }

  async delete(key: string): Promise<boolean> {
    const path = this.pathFor(key);
    if (!(await this.#assertReplaceable(path, "delete"))) return false;
    try {
      await unlink(path);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw unavailable(path, "delete", cause);
    }
    await fsyncDirectory(dirname(path)).catch(() => undefined);
    return true;
  }

  withLock<T>(key: string, fn: () => Promise<T>, options: LockOptions = {}): Promise<T> {
    const ttlMs = positive(options.ttlMs ?? DEFAULT_LOCK_TTL_MS, "ttlMs");
    const waitMs = nonNegative(options.waitMs ?? DEFAULT_LOCK_WAIT_MS, "waitMs");
    const deadline = this.#clock.now() + waitMs;
    const lockPath = `${this.pathFor(key)}.lock`;
    // Scratch files of processes killed while locking: swept on this store's first use of the lock.
    const sweepScratch = !this.#swept.has(lockPath);
    this.#swept.add(lockPath);
    const lock = new FileLock(lockPath, { clock: this.#clock, sweepScratch });
    // Callers in this process queue on a promise instead of polling the file system.
    return this.#localLock.run(
      lock.path,
      async () => {
        const owner = await lock.acquire(ttlMs, waitMs, deadline);
        try {
          return await fn();
        } finally {
          await lock.release(owner).catch(() => undefined);
        }
      },
      { ttlMs, waitMs },
    );
  }

  /** Nothing to release: no file handle outlives a call. Safe to call any number of times. */
  async close(): Promise<void> {}

  /** Resolves true if a readable record exists, false if none; throws if one exists but cannot be read. */
  async #assertReplaceable(path: string, action: "overwrite" | "delete"): Promise<boolean> {
    try {
      return (await this.#load(path)) !== undefined;
    } catch (error) {
      if (!(error instanceof TokenStoreError)) throw error;
      const Same = error.constructor as new (
        message: string,
        options: { cause: unknown; location?: string },
      ) => Error;
      throw new Same(`Refusing to ${action} a record that cannot be read. ${error.message}`, {
        cause: error,
        location: path,
      });
    }
  }

  async #load(path: string): Promise<LoadedRecord | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, constants.O_RDONLY);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw unavailable(path, "read", cause);
    }
    let token: string;
    try {
      const stats = await handle.stat();
      if (!stats.isFile()) {
        throw new StoreUnavailableError(
          `${path} is not a regular file. Fix: point the store at a file (file:PATH) or a directory (file:DIR/ with the slash).`,
          { location: path },
        );
      }
      if (process.platform !== "win32" && (stats.mode & PRIVATE_MODE_MASK) !== 0) {
        const mode = (stats.mode & 0o777).toString(8).padStart(3, "0");
        throw new InsecurePermissionsError(
          `Refusing to read ${path}: its mode is ${mode}, so other users may read or change the credential. ` +
            `Fix: chmod 600 ${path}`,
          { location: path },
        );
      }
      token = await handle.readFile("latin1");
    } catch (cause) {
      if (cause instanceof TokenStoreError) throw cause;
      throw unavailable(path, "read", cause);
    } finally {
      await handle.close();
    }
    return this.#decode(path, token);
  }

  #decode(path: string, token: string): LoadedRecord {
    let plaintext: Buffer;
    let keyIndex: number;
    try {
      ({ plaintext, keyIndex } = this.#fernet.decryptWithKeyIndex(token));
    } catch (cause) {
      if (!(cause instanceof InvalidTokenError)) throw cause;
      throw new DecryptFailedError(decryptFailure(path, cause, this.#fernet.size), { cause, location: path });
    }
    let json: unknown;
    try {
      json = JSON.parse(plaintext.toString("utf8"));
    } catch {
      // JSON.parse messages quote the input, which is a credential: keep neither message nor cause.
      throw new CorruptRecordError(
        `${path} decrypted, but its content is not JSON. The file was left untouched. Fix: ${fix(path)}.`,
        { location: path },
      );
    }
    try {
      return { record: parseTokenRecord(json, path), keyIndex };
    } catch (cause) {
      if (!(cause instanceof CorruptRecordError)) throw cause;
      throw new CorruptRecordError(`${cause.message} The file was left untouched. Fix: ${fix(path)}.`, {
        cause,
        location: path,
      });
    }
  }
}

function decryptFailure(path: string, error: InvalidTokenError, keyCount: number): string {
  const untouched = "The file was left untouched.";
  if (error.code === "BAD_SIGNATURE") {
    const which =
      keyCount === 1 ? "the key in EASEL_FERNET_KEY" : `any of the ${keyCount} keys in EASEL_FERNET_KEY`;
    return (
      `Cannot decrypt ${path}: it was not written with ${which}, or it was altered. ${untouched} ` +
      'Fix: set EASEL_FERNET_KEY to the key that wrote it (while rotating keys, list both: "NEW_KEY,OLD_KEY"); ' +
      `if the file is damaged, ${fix(path)}.`
    );
  }
  return `Cannot decrypt ${path}: it is not a whole Fernet token (${error.code}: truncated or damaged). ${untouched} Fix: restore it from a backup, or ${fix(path)}.`;
}

function fix(path: string): string {
  return MOVE_ASIDE_FIX.replaceAll("FILE", path);
}

function unavailable(path: string, action: string, cause: unknown): StoreUnavailableError {
  const code = (cause as NodeJS.ErrnoException).code;
  const dir = dirname(path);
  const reason = code === "EACCES" || code === "EPERM" ? "permission denied" : (cause as Error).message;
  return new StoreUnavailableError(
    `Cannot ${action} ${path}: ${reason}. Fix: make sure ${dir} is a directory you own and can read and ` +
      `write (ls -ld ${dir}; chmod 700 ${dir}).`,
    { cause, location: path },
  );
}

function fernetFrom(keys: FileTokenStoreOptions["fernetKeys"]): MultiFernet {
  if (keys instanceof MultiFernet) return keys;
  const missing = keys === undefined || keys === null || (typeof keys === "string" && keys.trim() === "");
  if (missing || (Array.isArray(keys) && keys.length === 0)) {
    throw invalidArg(
      `A file token store needs a Fernet key to encrypt records (options.fernetKeys or EASEL_FERNET_KEY); received ${describe(keys)}. ` +
        "Run `easel key generate` and set EASEL_FERNET_KEY to the key it prints (a comma-separated list while rotating keys).",
    );
  }
  try {
    return typeof keys === "string"
      ? MultiFernet.fromKeyList(keys)
      : new MultiFernet(keys as readonly FernetKey[]);
  } catch (cause) {
    if (!(cause instanceof InvalidKeyError)) throw cause;
    throw invalidArg(`EASEL_FERNET_KEY is not valid: ${cause.message}`, cause);
  }
}

/** Names what was received without echoing a value that may be a secret. */
function describe(value: unknown): string {
  if (value === undefined || value === null) return String(value);
  if (typeof value === "string") return value.trim() === "" ? "an empty string" : "a string";
  if (Array.isArray(value)) return value.length === 0 ? "an empty array" : "an array";
  return typeof value;
}

function positive(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalidArg(
      `${name} must be a positive number of milliseconds (withLock options); received ${String(value)}.`,
    );
  }
  return value;
}

function nonNegative(value: number, name: string): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < 0) {
    throw invalidArg(`${name} must be a non-negative number of milliseconds; received ${String(value)}.`);
  }
  return value;
}
