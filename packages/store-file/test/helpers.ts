import { readFileSync, statSync } from "node:fs";
import { setImmediate as nextTurn } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { type NodeProcess, startNode } from "@easel/test-utils";
import { FileLock } from "../src/file-lock.js";

export const WORKER = fileURLToPath(new URL("./fixtures/worker.mjs", import.meta.url));

/** Bytes and mtime of a file, to prove a failed read left it exactly as it was. */
export function snapshot(path: string): { bytes: string; mtimeMs: number; mode: number } {
  const stats = statSync(path);
  return { bytes: readFileSync(path).toString("hex"), mtimeMs: stats.mtimeMs, mode: stats.mode };
}

/** Runs test/fixtures/worker.mjs with the store key in EASEL_FERNET_KEY; `ready` is its first line. */
export function startWorker(
  key: string,
  args: string[],
  as: { uid?: number; gid?: number } = {},
): NodeProcess {
  return startNode(WORKER, args, { ...as, env: { EASEL_FERNET_KEY: key } });
}

/**
 * `count` waiters race for the lock at `lockPath`, each pausing a random few turns of the event
 * loop (while the others' file operations go on) between judging the lock breakable and breaking
 * it, where a busy machine would pause: a waiter may reach the lock after another has already
 * broken it and taken the lock. Each runs `inside(owner)` holding the lock, then releases it.
 * Resolves with the most waiters ever inside at once.
 */
export async function raceForLock(
  lockPath: string,
  count: number,
  inside: (owner: string) => Promise<void>,
): Promise<number> {
  const waiters = Array.from(
    { length: count },
    () =>
      new FileLock(lockPath, {
        hooks: {
          beforeBreak: async () => {
            for (let turns = Math.floor(Math.random() * 6); turns > 0; turns--) await nextTurn();
          },
        },
      }),
  );
  let holders = 0;
  let maxHolders = 0;
  await Promise.all(
    waiters.map(async (lock) => {
      const owner = await lock.acquire(5_000, 10_000, Date.now() + 10_000);
      holders++;
      maxHolders = Math.max(maxHolders, holders);
      await inside(owner);
      holders--;
      await lock.release(owner);
    }),
  );
  return maxHolders;
}
