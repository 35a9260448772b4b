import { fileURLToPath } from "node:url";
import { ManualClock } from "@easel/clock";
import { startNode } from "@easel/test-utils";
import { LOCK_TIMEOUT } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LOCK_HEARTBEAT_MS, LOCK_LEASE_MS } from "../src/cas-lock.js";
import { createTokenStore } from "../src/index.js";
import { type FakeVault, startFakeVault } from "../src/testing.js";

const HOLDER = fileURLToPath(new URL("./fixtures/lock-holder.mjs", import.meta.url));
let vault: FakeVault;
let run = 0;
beforeAll(async () => {
  vault = await startFakeVault();
});
afterAll(() => vault.close());

/** A fresh store path: its URI, the fake's path of the lock entry of `key`, and a store on it. */
async function fresh(key: string, clock?: ManualClock) {
  const path = `secret/leases/${++run}`;
  const uri = `vault+${vault.url}/${path}`;
  const store = await createTokenStore(uri, { env: { VAULT_TOKEN: vault.rootToken }, clock });
  return { uri, lockPath: `${path}/.locks/${key}`, store };
}

interface Entry {
  owner: string;
  expires_at: number;
  lease_until?: number;
  released?: boolean;
}

const entryAt = (lockPath: string) => vault.readSecret(lockPath)?.data as unknown as Entry | undefined;

describe("Vault lock holders that die or run long (a lease renewed by cas)", () => {
  it("a live holder keeps its lock past the lease; killed with SIGKILL, its lock frees within the lease", async () => {
    const { uri, lockPath, store } = await fresh("held");
    const holder = startNode(HOLDER, [uri, "30000"], { env: { VAULT_TOKEN: vault.rootToken } });
    try {
      await holder.ready;
      const entry = entryAt(lockPath)!;
      // Held for a lease, not for the holder's 30 s ttl: that is what a dead holder costs.
      expect(entry.lease_until! - Date.now()).toBeLessThanOrEqual(LOCK_LEASE_MS);
      expect(entry.expires_at - Date.now()).toBeGreaterThan(20_000);
      const waited = await store
        .withLock("held", async () => "taken from a live holder", { waitMs: 2 * LOCK_LEASE_MS + 500 })
        .catch((e: unknown) => e);
      expect(waited).toMatchObject({ code: LOCK_TIMEOUT });
      expect(entryAt(lockPath)?.owner).toBe(entry.owner);
      holder.child.kill("SIGKILL");
      await holder.done.catch(() => undefined);
      const killedAt = performance.now();
      expect(await store.withLock("held", async () => "mine", { waitMs: 25_000 })).toBe("mine");
      expect(performance.now() - killedAt).toBeLessThan(LOCK_LEASE_MS + 1_000);
    } finally {
      holder.child.kill("SIGKILL");
      await holder.done.catch(() => undefined);
      await store.close();
    }
  }, 40_000);

  it("the heartbeat renews the holder's own lease by cas, up to its ttl, and never a lock taken over", async () => {
    const clock = new ManualClock(Date.now());
    const { lockPath, store } = await fresh("k", clock);
    const entry = () => entryAt(lockPath)!;
    try {
      await store.withLock(
        "k",
        async () => {
          const acquired = clock.now();
          expect(entry().lease_until).toBe(acquired + LOCK_LEASE_MS);
          await clock.advance(LOCK_HEARTBEAT_MS);
          await clock.untilSleeping(); // renewed, and waiting for the next beat
          expect(entry().lease_until).toBe(acquired + LOCK_HEARTBEAT_MS + LOCK_LEASE_MS);
          expect(entry().expires_at).toBe(acquired + 5_500);
          await clock.advance(3 * LOCK_HEARTBEAT_MS);
          await clock.untilSleeping();
          // 1.5 s of the 5.5 s ttl left: the lease is cut to it.
          expect(entry().lease_until).toBe(acquired + 5_500);
          // Another process took the lock over (this holder stalled past its lease).
          await fetch(`${vault.url}/v1/${lockPath.replace("/", "/data/")}`, {
            method: "POST",
            headers: { "X-Vault-Token": vault.rootToken },
            body: JSON.stringify({ data: { owner: "successor", expires_at: 1, ttl_ms: 1, lease_until: 2 } }),
          });
          await clock.advance(LOCK_HEARTBEAT_MS); // the next beat loses its cas and stops
        },
        { ttlMs: 5_500 },
      );
      expect(entry()).toEqual({ owner: "successor", expires_at: 1, ttl_ms: 1, lease_until: 2 });
      expect(clock.sleeping).toBe(0);
    } finally {
      await store.close();
    }
  });
});
