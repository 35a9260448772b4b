import { createHash, randomBytes } from "node:crypto";
import { readdir, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { basename, dirname, join } from "node:path";

/** The kinds of short-lived files kept beside a record. */
export type ScratchPurpose = "tmp" | "lock-tmp" | "lock-stale";

/** Identifies this machine in scratch names, so a sweep never judges another host's pids. */
const HOST_TAG = createHash("sha256").update(hostname()).digest("hex").slice(0, 8);
const SCRATCH_NAME = /^(.*)\.(tmp|lock-tmp|lock-stale)\.([0-9a-f]{8})\.(\d+)\.[0-9a-f]+$/;
/** A scratch file this old is abandoned whoever made it: a write takes milliseconds. */
const ABANDONED_AFTER_MS = 60 * 60 * 1000;

/**
 * A unique sibling of `target` (same directory, so a rename onto `target` is atomic):
 * `<name>.<purpose>.<host>.<pid>.<random>`. The pid lets a later sweep remove files left by a
 * writer that was killed mid-write.
 */
export function scratchPath(target: string, purpose: ScratchPurpose): string {
  return `${target}.${purpose}.${HOST_TAG}.${process.pid}.${randomBytes(6).toString("hex")}`;
}

/**
 * Removes scratch files of `target` whose writer is gone: made on this host by a pid that no
 * longer runs, or older than an hour. Best effort: a sweep never fails a write.
 */
export async function sweepScratch(target: string): Promise<number> {
  const dir = dirname(target);
  const name = basename(target);
  let removed = 0;
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch {
    return 0;
  }
  for (const entry of entries) {
    const match = SCRATCH_NAME.exec(entry);
    if (!match || match[1] !== name) continue;
    const path = join(dir, entry);
    try {
      const ownerGone = match[3] === HOST_TAG && !isRunning(Number(match[4]));
      if (ownerGone || Date.now() - (await stat(path)).mtimeMs > ABANDONED_AFTER_MS) {
        await unlink(path);
        removed++;
      }
    } catch {
      // Already gone, or not ours to remove: either way nothing to do.
    }
  }
  return removed;
}

function isRunning(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}
