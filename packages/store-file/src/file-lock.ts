import { randomUUID } from "node:crypto";
import { constants } from "node:fs";
import { link, mkdir, open, readdir, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";
import { type BackoffOptions, backoffDelay, type Clock, systemClock } from "@easel/clock";
import { LockTimeoutError, StoreUnavailableError } from "@easel/token-store";
import { holderState, ownProcessStart, type ProcessStart } from "./process-identity.js";
import { scratchPath, sweepScratch } from "./scratch.js";

/** What a lock file holds: who owns it and until when. No secrets. */
interface LockContent {
  owner: string;
  pid: number;
  host: string;
  /** The holder's process start (see process-identity.ts); absent where /proc is. */
  start?: ProcessStart;
  acquiredAt: number;
  expiresAt: number;
}

interface SeenLock {
  content: LockContent | undefined;
  ino: number;
  mtimeMs: number;
  size: number;
}

/** Seams for tests that need to force one interleaving of a race. Not part of the public API. */
export interface FileLockTestHooks {
  /** Runs after a waiter judged a lock stale and before it moves it away. */
  beforeBreak?: () => Promise<void>;
}

export interface FileLockOptions {
  /** Where lock ttls, waits and backoff run. @default systemClock */
  clock?: Clock;
  hooks?: FileLockTestHooks;
  /**
   * Sweep scratch files left beside the lock by killed processes once the lock is taken (it is
   * always done after taking over a dead holder's lock). The store asks for it on first use.
   */
  sweepScratch?: boolean;
}

/**
 * Polling a held lock: gentle growth (1.5, not 2) because a lock file is usually released within
 * milliseconds and waiters should notice soon, capped so a long holder costs little.
 */
const WAIT_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 200, factor: 1.5 };
/** Retrying the break lock, held only for a read and an unlink. */
const BREAK_BACKOFF: BackoffOptions = { baseMs: 2, maxMs: 10 };
/** Breaking a stale lock takes milliseconds; a break lock this old was left by a dead waiter. */
const BREAK_STALE_MS = 10_000;
/** Where `link()` is refused (some network and FUSE file systems) we fall back to O_EXCL. */
const NO_HARD_LINKS = new Set(["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"]);

/**
 * A cross-process lock: a file `<record>.lock` that exists while someone holds the lock.
 *
 * - Acquire: the content is written to a private temp file, then hard-linked to the lock
 *   path. `link` fails if the path exists, so exactly one process wins, and nobody ever sees
 *   a half-written lock file.
 * - A lock whose holder is dead is broken at once: on this host a holder is dead when its pid
 *   no longer runs as the process that took the lock (same pid and start time, see
 *   process-identity.ts). Any other holder (another host, no /proc) is presumed dead once its
 *   `expiresAt` has passed. A waiter breaks a lock only while it holds `<lock>.break` (taken with the same `link`), after checking that the
 *   lock file is still the very one it judged stale (same inode and owner); then it competes
 *   again with `link`. While the stale file exists nobody can create a lock, so the check and
 *   the delete cannot be overtaken: two waiters never both take over one stale lock. (Moving
 *   the lock away and linking it back when it was the wrong one, as an earlier version did,
 *   leaves a moment with no lock file in which a third waiter gets in: two holders.)
 * - A break lock left by a waiter that died mid-break is cleared after BREAK_STALE_MS.
 * - Scratch files of killed processes are swept after taking over a dead holder's lock.
 * - Release deletes the file only if it still names us, checked and deleted under the break lock:
 *   a holder that overstayed its ttl and was taken over leaves the new owner's lock alone.
 */
export class FileLock {
  readonly #path: string;
  readonly #hooks: FileLockTestHooks;
  readonly #clock: Clock;
  readonly #sweepScratch: boolean;

  constructor(lockPath: string, options: FileLockOptions = {}) {
    this.#path = lockPath;
    this.#hooks = options.hooks ?? {};
    this.#clock = options.clock ?? systemClock;
    this.#sweepScratch = options.sweepScratch ?? false;
  }

  get path(): string {
    return this.#path;
  }

  /** Waits until `deadline` (epoch ms) to take the lock; resolves with the owner id. */
  async acquire(ttlMs: number, waitMs: number, deadline: number): Promise<string> {
    const owner = randomUUID();
    const start = await ownProcessStart();
    await this.#ensureDirectory();
    let tookOver = false;
    for (let attempt = 1; ; attempt++) {
      const now = this.#clock.now();
      const content: LockContent = {
        owner,
        pid: process.pid,
        host: hostname(),
        ...(start ? { start } : {}),
        acquiredAt: now,
        expiresAt: now + ttlMs,
      };
      if (await this.#tryCreate(this.#path, JSON.stringify(content))) {
        if (tookOver || this.#sweepScratch) await this.#sweep();
        return owner;
      }
      const seen = await this.#read(this.#path);
      if (!seen) continue; // released just now: try again at once
      // A lock file we cannot parse (being written without link, or foreign): judge it by its age.
      const expiresAt = seen.content?.expiresAt ?? seen.mtimeMs + ttlMs;
      if (expiresAt <= this.#clock.now() || (seen.content && (await holderState(seen.content)) === "dead")) {
        await this.#breakStale(seen);
        tookOver = true;
        continue;
      }
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0) throw this.#timeout(waitMs, seen.content);
      // Jittered, so waiters do not retry in lockstep; never past the holder's expiry or our deadline.
      const untilExpiry = expiresAt - this.#clock.now() + 1;
      await this.#clock.sleep(
        Math.max(1, Math.min(backoffDelay(attempt, WAIT_BACKOFF), untilExpiry, remaining)),
      );
    }
  }

  /**
   * Deletes the lock file if it is still ours. Never throws for a lock already gone. Done under
   * the break lock, so no waiter can break our (overstayed) lock and a successor take it between
   * our check and our delete.
   */
  async release(owner: string): Promise<void> {
    await this.#underBreakLock(true, async () => {
      const seen = await this.#read(this.#path);
      if (seen?.content?.owner !== owner) return;
      await unlink(this.#path).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== "ENOENT") throw error;
      });
    });
  }

  /** Scratch files of the lock and of its break lock whose writers are gone. Never fails the lock. */
  async #sweep(): Promise<void> {
    await sweepScratch(this.#path).catch(() => undefined);
    await sweepScratch(`${this.#path}.break`).catch(() => undefined);
    await this.#sweepReapClaims().catch(() => undefined);
  }

  /**
   * Claims (`<break>.reap.<owner>`, see `#clearBreakLock`) of clearers killed mid-clear. A claim
   * whose claimant is dead guards nothing; one killed after deleting the break lock it claimed is
   * never looked at again by anyone, so without this it would stay beside the store for good.
   */
  async #sweepReapClaims(): Promise<void> {
    const breakPath = `${this.#path}.break`;
    const prefix = `${basename(breakPath)}.reap.`;
    for (const entry of await readdir(dirname(breakPath))) {
      if (!entry.startsWith(prefix)) continue;
      const claim = join(dirname(breakPath), entry);
      const seen = await this.#read(claim);
      if (seen && (await this.#breakLockAbandoned(seen))) await unlink(claim).catch(() => undefined);
    }
  }

  async #ensureDirectory(): Promise<void> {
    try {
      await mkdir(dirname(this.#path), { recursive: true, mode: 0o700 });
    } catch (cause) {
      throw new StoreUnavailableError(
        `Cannot create the directory of the lock file ${this.#path}: ${(cause as Error).message}. ` +
          `Fix: make sure ${dirname(this.#path)} is a directory you can write to.`,
        { cause, location: this.#path },
      );
    }
  }

  /** Creates `target` holding `body` if it does not exist; false if it does. */
  async #tryCreate(target: string, body: string): Promise<boolean> {
    const temp = scratchPath(this.#path, "lock-tmp");
    try {
      const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(body, "utf8");
      } finally {
        await handle.close();
      }
      await link(temp, target);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST") return false;
      if (NO_HARD_LINKS.has(code)) return this.#tryCreateExclusive(target, body);
      throw this.#unavailable(error);
    } finally {
      await unlink(temp).catch(() => undefined);
    }
  }

  async #tryCreateExclusive(target: string, body: string): Promise<boolean> {
    try {
      const handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await handle.writeFile(body, "utf8");
      } finally {
        await handle.close();
      }
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw this.#unavailable(error);
    }
  }

  async #breakStale(stale: SeenLock): Promise<void> {
    await this.#hooks.beforeBreak?.();
    // If another waiter is breaking it, the caller simply looks again.
    await this.#underBreakLock(false, async () => {
      const current = await this.#read(this.#path);
      // Still the very lock we judged stale? Nobody can replace it while it exists, and nobody
      // else deletes it while we hold the break lock, so deleting it now is safe.
      if (current && sameLock(current, stale)) {
        await unlink(this.#path).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw this.#unavailable(error);
        });
      }
    });
  }

  /**
   * Runs `fn` holding `<lock>.break`, the short lock under which a lock file is checked and
   * deleted. Without `wait`, skips `fn` when someone else holds it. A break lock left by a process
   * that died holding it (killed while releasing) is cleared at once when its holder is known dead,
   * else after BREAK_STALE_MS.
   */
  async #underBreakLock(wait: boolean, fn: () => Promise<void>): Promise<void> {
    const breakPath = `${this.#path}.break`;
    const now = this.#clock.now();
    const start = await ownProcessStart();
    const content: LockContent = {
      owner: randomUUID(),
      pid: process.pid,
      host: hostname(),
      ...(start ? { start } : {}),
      acquiredAt: now,
      expiresAt: now + BREAK_STALE_MS,
    };
    const body = JSON.stringify(content);
    for (let attempt = 1; ; attempt++) {
      if (await this.#tryCreate(breakPath, body)) break;
      const left = await this.#read(breakPath);
      if (left && (await this.#breakLockAbandoned(left))) {
        await this.#clearBreakLock(breakPath, left, body);
        continue;
      }
      if (!wait) return;
      await this.#clock.sleep(Math.max(1, backoffDelay(attempt, BREAK_BACKOFF)));
    }
    try {
      await fn();
    } finally {
      await unlink(breakPath).catch(() => undefined);
    }
  }

  async #breakLockAbandoned(left: SeenLock): Promise<boolean> {
    if (this.#clock.now() - left.mtimeMs > BREAK_STALE_MS) return true;
    return left.content !== undefined && (await holderState(left.content)) === "dead";
  }

  /**
   * Deletes the abandoned break lock `left`, and nothing else. Two waiters that both judged it
   * abandoned must not both delete "the" break lock: the second could delete the one the first
   * has just made. So the deleter first claims `left` by creating `<break>.reap.<its owner>`
   * (one winner); while `left` exists nobody makes a new break lock, and only the claimant deletes
   * it, so checking that the path still holds `left` and then deleting it cannot be overtaken.
   */
  async #clearBreakLock(breakPath: string, left: SeenLock, body: string): Promise<void> {
    if (!left.content) {
      // Not written by this code (no owner to claim): only its age condemned it.
      await unlink(breakPath).catch(() => undefined);
      return;
    }
    const claim = `${breakPath}.reap.${left.content.owner}`;
    if (!(await this.#tryCreate(claim, body))) {
      // Another waiter is clearing it. A claim left by a waiter that died mid-clear is cleared at
      // once when that waiter is known dead (its claim names it, as a break lock does), else when
      // it is older than BREAK_STALE_MS: waiting out the age alone stalled the next writer 10 s.
      const stale = await this.#read(claim);
      if (stale && (await this.#breakLockAbandoned(stale))) await unlink(claim).catch(() => undefined);
      return;
    }
    try {
      const current = await this.#read(breakPath);
      if (current && sameLock(current, left)) await unlink(breakPath).catch(() => undefined);
    } finally {
      await unlink(claim).catch(() => undefined);
    }
  }

  async #read(path: string): Promise<SeenLock | undefined> {
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, constants.O_RDONLY);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw this.#unavailable(error);
    }
    try {
      const stats = await handle.stat();
      const text = await handle.readFile("utf8");
      return { content: parseLock(text), ino: stats.ino, mtimeMs: stats.mtimeMs, size: stats.size };
    } finally {
      await handle.close();
    }
  }

  #timeout(waitMs: number, holder: LockContent | undefined): LockTimeoutError {
    const who = holder
      ? ` (held by pid ${holder.pid} on ${holder.host} until ${new Date(holder.expiresAt).toISOString()})`
      : "";
    return new LockTimeoutError(
      `Timed out after ${waitMs} ms waiting for the lock ${this.#path}${who}. A lock whose holder died is ` +
        `taken over at once on the same host, elsewhere when its ttl runs out; if you are sure no process holds it, delete ${this.#path}.`,
      { location: this.#path },
    );
  }

  #unavailable(cause: unknown): StoreUnavailableError {
    return new StoreUnavailableError(
      `Cannot use the lock file ${this.#path}: ${(cause as Error).message}. ` +
        `Fix: make sure ${dirname(this.#path)} is a directory you can write to.`,
      { cause, location: this.#path },
    );
  }
}

function sameLock(a: SeenLock, b: SeenLock): boolean {
  if (a.ino !== b.ino) return false;
  if (a.content || b.content) return a.content?.owner === b.content?.owner;
  return a.mtimeMs === b.mtimeMs && a.size === b.size;
}

function parseLock(text: string): LockContent | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockContent> | null;
    if (
      value &&
      typeof value.owner === "string" &&
      typeof value.expiresAt === "number" &&
      typeof value.pid === "number"
    ) {
      return {
        owner: value.owner,
        pid: value.pid,
        host: typeof value.host === "string" ? value.host : "?",
        ...(typeof value.start === "string" ? { start: value.start } : {}),
        acquiredAt: typeof value.acquiredAt === "number" ? value.acquiredAt : 0,
        expiresAt: value.expiresAt,
      };
    }
  } catch {
    // Not ours, or still being written: the caller judges it by its age.
  }
  return undefined;
}
