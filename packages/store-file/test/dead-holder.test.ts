import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { generateKey } from "@easel/fernet";
import { type NodeProcess, tempDir } from "@easel/test-utils";
import { LOCK_TIMEOUT } from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { FileTokenStore } from "../src/index.js";
import { raceForLock, startWorker } from "./helpers.js";

const key = generateKey();
/** The default ttl: without a liveness check the next writer waited all of it. */
const LONG_TTL_MS = 30_000;
/** "At once": well under any ttl, with room for a loaded machine. */
const PROMPTLY_MS = 2_000;
const hasProc = existsSync("/proc/self/stat");

interface RecordedLock {
  owner: string;
  pid: number;
  host: string;
  start?: string;
  acquiredAt: number;
  expiresAt: number;
}

const readLock = (path: string) => JSON.parse(readFileSync(`${path}.lock`, "utf8")) as RecordedLock;

async function kill(worker: NodeProcess): Promise<void> {
  worker.child.kill("SIGKILL");
  await worker.done.catch(() => undefined);
}

/** A child holding the lock of `path` with a ttl far beyond the test. */
async function holder(path: string): Promise<NodeProcess> {
  const worker = startWorker(key, ["hold", `file:${path}`, String(LONG_TTL_MS)]);
  await worker.ready;
  return worker;
}

/** Time until `withLock` on `path` gets in, or the error it fails with. */
async function nextWriter(path: string, waitMs: number): Promise<{ tookMs: number; error?: unknown }> {
  const store = new FileTokenStore({ path, fernetKeys: key });
  const started = Date.now();
  try {
    await store.withLock("held", async () => undefined, { waitMs });
    return { tookMs: Date.now() - started };
  } catch (error) {
    return { tookMs: Date.now() - started, error };
  }
}

describe.skipIf(!hasProc)("a lock holder that died on this host (pid and start time)", () => {
  it("a holder killed with SIGKILL is taken over at once, not after its ttl", async () => {
    const path = join(tempDir(), "cache.enc");
    const dead = await holder(path);
    const lock = readLock(path);
    expect(lock.pid).toBe(dead.child.pid);
    expect(lock.expiresAt - lock.acquiredAt).toBe(LONG_TTL_MS);
    await kill(dead);
    const next = await nextWriter(path, 5_000);
    expect(next.error).toBeUndefined();
    expect(next.tookMs).toBeLessThan(PROMPTLY_MS);
    expect(existsSync(`${path}.lock`)).toBe(false);
  }, 30_000);

  it("of two holders the killed one's lock is taken over and the live one's is not", async () => {
    const dir = tempDir();
    const [deadPath, livePath] = [join(dir, "dead.enc"), join(dir, "live.enc")];
    const [dead, live] = await Promise.all([holder(deadPath), holder(livePath)]);
    try {
      await kill(dead);
      const fromDead = await nextWriter(deadPath, 5_000);
      expect(fromDead.error).toBeUndefined();
      expect(fromDead.tookMs).toBeLessThan(PROMPTLY_MS);
      const fromLive = await nextWriter(livePath, 1_000);
      expect(fromLive.error).toMatchObject({ code: LOCK_TIMEOUT });
      expect((fromLive.error as Error).message).toContain(`pid ${live.child.pid}`);
      expect(readLock(livePath).pid).toBe(live.child.pid);
    } finally {
      await kill(live);
    }
  }, 30_000);

  it("a lock whose pid runs but started at another time (a reused pid) is taken over at once", async () => {
    const dir = tempDir();
    const [reusedPath, livePath] = [join(dir, "reused.enc"), join(dir, "live.enc")];
    // A live process whose pid the lock names: the real holder, or (start time changed) a later
    // process that was given the dead holder's pid.
    const live = await holder(livePath);
    try {
      const lock = readLock(livePath);
      expect(lock.start).toMatch(/:\d+$/);
      const ticks = Number(lock.start!.slice(lock.start!.lastIndexOf(":") + 1));
      const earlier = `${lock.start!.slice(0, lock.start!.lastIndexOf(":"))}:${Math.max(0, ticks - 1)}`;
      writeFileSync(`${reusedPath}.lock`, JSON.stringify({ ...lock, owner: "earlier", start: earlier }));
      const next = await nextWriter(reusedPath, 5_000);
      expect(next.error).toBeUndefined();
      expect(next.tookMs).toBeLessThan(PROMPTLY_MS);
      // The same pid with its true start time is the live holder: left alone.
      const control = await nextWriter(livePath, 500);
      expect(control.error).toMatchObject({ code: LOCK_TIMEOUT });
    } finally {
      await kill(live);
    }
  }, 30_000);

  it("a break-lock claim left by a clearer killed mid-clear is swept; a live clearer's is not", async () => {
    const dir = tempDir();
    const path = join(dir, "cache.enc");
    // Any process's lock record names its pid and start time: a killed holder's is a dead claimant.
    const dead = await holder(path);
    const deadRecord = readLock(path);
    await kill(dead);
    const live = await holder(join(dir, "other.enc"));
    try {
      const liveRecord = readLock(join(dir, "other.enc"));
      // Killed after deleting the break lock it claimed, before deleting its claim: nobody looks
      // at that claim again (it found it in a CI run, beside the store after 30 killed writers).
      writeFileSync(`${path}.lock.break.reap.gone-owner`, JSON.stringify(deadRecord));
      writeFileSync(`${path}.lock.break.reap.busy-owner`, JSON.stringify(liveRecord));
      const next = await nextWriter(path, 5_000);
      expect(next.error).toBeUndefined();
      expect(readdirSync(dir).filter((name) => name.includes(".reap."))).toEqual([
        "cache.enc.lock.break.reap.busy-owner",
      ]);
    } finally {
      await kill(live);
    }
  }, 30_000);

  it("no scratch files are left after many writers were killed mid-lock, and none stalls the next", async () => {
    const dir = tempDir();
    const path = join(dir, "cache.enc");
    const kills = 30;
    let scratchSeen = 0;
    for (let i = 0; i < kills; i++) {
      const writer = startWorker(key, ["lock-loop", `file:${path}`]);
      const started = Date.now();
      await writer.ready; // it got the lock, though the last writer was killed at a random moment
      expect(Date.now() - started, `writer ${i} waited for a dead holder`).toBeLessThan(5_000);
      // The pause picks a random moment of the loop to kill in (taking, holding or releasing).
      await pause(Math.random() * 20);
      await kill(writer);
      scratchSeen += readdirSync(dir).filter((name) => name.includes(".lock-tmp.")).length;
    }
    const next = await nextWriter(path, 5_000);
    expect(next.error).toBeUndefined();
    expect(next.tookMs).toBeLessThan(PROMPTLY_MS);
    expect(readdirSync(dir)).toEqual([]);
    console.info(`dead holders: ${kills} kills, ${scratchSeen} scratch files seen between kills`);
  }, 120_000);

  it("many waiters racing to take over a killed holder's lock: one holder at a time (30 rounds)", async () => {
    const lockPath = join(tempDir(), "cache.enc.lock");
    const dead = await holder(lockPath.slice(0, -".lock".length));
    const deadLock = JSON.parse(readFileSync(lockPath, "utf8")) as RecordedLock;
    await kill(dead);
    let maxInside = 0;
    for (let round = 0; round < 30; round++) {
      // The killed holder's lock, unexpired: only the liveness check can free it.
      writeFileSync(
        lockPath,
        JSON.stringify({ ...deadLock, owner: `dead-${round}`, expiresAt: Date.now() + 60_000 }),
      );
      const inRound = await raceForLock(lockPath, 6, async (owner) => {
        expect(JSON.parse(readFileSync(lockPath, "utf8")).owner).toBe(owner);
      });
      maxInside = Math.max(maxInside, inRound);
      expect(existsSync(lockPath)).toBe(false);
    }
    expect(maxInside).toBe(1);
  }, 60_000);
});
