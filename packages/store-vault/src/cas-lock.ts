import { randomUUID } from "node:crypto";
import { hostname } from "node:os";
import { type BackoffOptions, backoffDelay, type Clock } from "@easel/clock";
import { CorruptRecordError, LockTimeoutError } from "@easel/token-store";
import type { VaultKvClient } from "./kv-client.js";

/** The KV data of a lock entry. Not secret: who holds it and until when. */
interface LockEntry {
  owner: string;
  /** Epoch ms after which the holder is presumed dead. */
  expires_at: number;
  ttl_ms: number;
  released?: boolean;
}

export interface LockLease {
  path: string;
  owner: string;
  version: number;
}

/** Polling while another process holds the lock, capped at 100 ms. */
const POLL_BACKOFF: BackoffOptions = { baseMs: 5, maxMs: 100 };

/**
 * A fleet-wide lock as one KV v2 entry written with check-and-set. Acquiring is a cas write on
 * the version we saw free (absent: cas 0; released or expired: its version), so of all
 * contenders exactly one write lands. Release writes a `released` marker with cas on our own
 * version, so it can never release a lock someone else took over. Entries are never deleted:
 * deleting would restart the version counter and let a stale cas succeed (ABA).
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
      const busyUntil =
        entry && !entry.released && entry.expires_at > this.#clock.now() ? entry.expires_at : undefined;
      if (busyUntil === undefined) {
        const lock: LockEntry = { owner, expires_at: this.#clock.now() + ttlMs, ttl_ms: ttlMs };
        const written = await this.#kv.writeCas(path, lock, current.version);
        if (written.ok) return { path, owner, version: written.version };
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

  /** Marks the lock released if we still hold it; a lost cas means it was taken over after our ttl. */
  async release(lease: LockLease, ttlMs: number): Promise<void> {
    const marker: LockEntry = { owner: lease.owner, expires_at: 0, ttl_ms: ttlMs, released: true };
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
