import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type BackoffOptions, backoffDelay, type Clock } from "@easel/clock";
import { CorruptRecordError, LockTimeoutError } from "@easel/token-store";
import type { VaultKvClient } from "./kv-client.js";

/** The KV data of a lock entry. Not secret: who holds it and until when. */
interface LockEntry {
  owner: string;
  /** Epoch ms after which the holder is presumed hung, however often it renewed its lease. */
  expires_at: number;
  ttl_ms: number;
  /**
   * Epoch ms until which the holder is known alive; its heartbeat moves it on. Absent in entries
   * of earlier versions, which hold until `expires_at`.
   */
  lease_until?: number;
  released?: boolean;
}

export interface LockLease {
  path: string;
  owner: string;
  /** The entry's version as we last wrote it: the heartbeat moves it on, release casts on it. */
  version: number;
  expiresAt: number;
  ttlMs: number;
}

/** Polling while another process holds the lock, capped at 100 ms. */
const POLL_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 100 };
/**
 * How long a lock outlives its holder's last heartbeat: what a waiter loses to a holder killed
 * with SIGKILL. Renewed every LOCK_HEARTBEAT_MS while fn runs, so a live holder must miss four
 * beats in a row to lose it.
 */
export const LOCK_LEASE_MS = 4_000;
export const LOCK_HEARTBEAT_MS = 1_000;

/**
 * A fleet-wide lock as one KV v2 entry written with check-and-set. Acquiring is a cas write on
 * the version we saw free (absent: cas 0; released or expired: its version), so of all
 * contenders exactly one write lands. Release writes a `released` marker with cas on our own
 * version, so it can never release a lock someone else took over. Entries are never deleted:
 * deleting would restart the version counter and let a stale cas succeed (ABA).
 *
 * The entry holds for a short lease (`lease_until`) that the live holder renews by cas while fn
 * runs (`keepAlive`), up to `expires_at` (acquire + ttlMs): a holder that dies frees the lock
 * within LOCK_LEASE_MS, a slow live one keeps it, a hung one loses it after ttlMs.
 */
export class CasLock {
  readonly #kv: VaultKvClient;
  readonly #clock: Clock;

  constructor(kv: VaultKvClient, clock: Clock) {
    this.#kv = kv;
    this.#clock = clock;
  }

  async acquire(path: string, ttlMs: number, deadline: number, key: string): Promise<LockLease> {
    const owner = `${hostname()}:${process.pid}:${randomUUID()}`;
    for (let attempt = 1; ; attempt++) {
      const current = await this.#kv.read(path);
      const entry =
        current.kind === "live" ? parseEntry(current.data, `${this.#kv.address}${path}`) : undefined;
      const heldUntil =
        entry && !entry.released ? Math.min(entry.expires_at, entry.lease_until ?? Infinity) : 0;
      const busyUntil = heldUntil > this.#clock.now() ? heldUntil : undefined;
      if (busyUntil === undefined) {
        const now = this.#clock.now();
        const lock: LockEntry = {
          owner,
          expires_at: now + ttlMs,
          ttl_ms: ttlMs,
          lease_until: now + Math.min(ttlMs, LOCK_LEASE_MS),
        };
        const written = await this.#kv.writeCas(path, lock, current.version);
        if (written.ok) return { path, owner, version: written.version, expiresAt: lock.expires_at, ttlMs };
        // Another contender's write landed first: look again at once.
      }
      const remaining = deadline - this.#clock.now();
      if (remaining <= 0) {
        throw new LockTimeoutError(
          `Timed out waiting for the Vault lock on "${key}" (held by ${entry?.owner ?? "another process"}).`,
          { location: `${this.#kv.address}${path}` },
        );
      }
      const backoff = backoffDelay(attempt, POLL_BACKOFF);
      const untilExpiry = busyUntil === undefined ? backoff : busyUntil - this.#clock.now() + 1;
      await this.#clock.sleep(Math.max(1, Math.min(backoff, untilExpiry, remaining)));
    }
  }

  /**
   * Renews the lease by cas every LOCK_HEARTBEAT_MS until `signal` aborts, never past the
   * holder's ttl. Stops at a lost cas: the lock was taken over, and is not ours to renew. Its
   * first sleep starts before this returns. Never rejects.
   */
  async keepAlive(lease: LockLease, signal: AbortSignal): Promise<void> {
    try {
      for (;;) {
        await this.#clock.sleep(LOCK_HEARTBEAT_MS, signal);
        const now = this.#clock.now();
        if (lease.expiresAt <= now) return;
        const renewed: LockEntry = {
          owner: lease.owner,
          expires_at: lease.expiresAt,
          ttl_ms: lease.ttlMs,
          lease_until: now + Math.min(LOCK_LEASE_MS, lease.expiresAt - now),
        };
        // Vault unreachable for now: the next beat tries again.
        const written = await this.#kv.writeCas(lease.path, renewed, lease.version).catch(() => undefined);
        if (written?.ok === false) return;
        if (written) lease.version = written.version;
      }
    } catch {
      // Aborted: fn is done and the lock is being released.
    }
  }

  /** Marks the lock released if we still hold it; a lost cas means it was taken over after our ttl. */
  async release(lease: LockLease): Promise<void> {
    const marker: LockEntry = { owner: lease.owner, expires_at: 0, ttl_ms: lease.ttlMs, released: true };
    await this.#kv.writeCas(lease.path, marker, lease.version);
  }
}

function parseEntry(data: Record<string, unknown>, location: string): LockEntry {
  if (typeof data.owner !== "string" || typeof data.expires_at !== "number") {
    throw new CorruptRecordError(`The lock entry at ${location} is not a lock (owner/expires_at missing).`, {
      location,
    });
  }
  return data as unknown as LockEntry;
}
