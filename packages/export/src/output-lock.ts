import type { Stats } from "node:fs";
import { open, readFile, stat, unlink } from "node:fs/promises";
import { hostname } from "node:os";
import { dirname, resolve } from "node:path";
import { exportPaths } from "./checkpoint.js";
import { EXPORT_OUTPUT_FAILED, EXPORT_OUTPUT_INVALID, EXPORT_OUTPUT_LOCKED, ExportError } from "./errors.js";

/** What `<out>.lock` says about the export that holds it. */
interface LockHolder {
  pid: number;
  host: string;
  startedAt: string;
}

/**
 * Says whether an export can write `out`, without touching anything: its directory exists, `out`
 * is not a directory, and no live export holds its lock. Meant to run before any Canvas request,
 * so a typo costs nothing; `exportCourses` takes the lock itself.
 *
 * @throws ExportError `EXPORT_OUTPUT_FAILED` (no such directory), `EXPORT_OUTPUT_INVALID` (a
 *   directory as output) or `EXPORT_OUTPUT_LOCKED`.
 */
export async function checkExportOutput(out: string): Promise<void> {
  const path = resolve(out);
  const directory = dirname(path);
  let dirStat: Stats;
  try {
    dirStat = await stat(directory);
  } catch (error) {
    // EXPORT_OUTPUT_FAILED with the ENOENT as cause: what opening the file there always said.
    throw new ExportError(
      EXPORT_OUTPUT_FAILED,
      `The output directory ${directory} does not exist: create it, or pick another --out.`,
      { cause: error },
    );
  }
  if (!dirStat.isDirectory()) {
    throw new ExportError(
      EXPORT_OUTPUT_INVALID,
      `The output's directory ${directory} is not a directory: pick another --out.`,
    );
  }
  if ((await stat(path).catch(() => undefined))?.isDirectory()) {
    throw new ExportError(
      EXPORT_OUTPUT_INVALID,
      `The output ${path} is a directory: name a file in it, e.g. ${path}/export.csv.`,
    );
  }
  const lock = exportPaths(path).lock;
  const holder = await readHolder(lock);
  if (holder && isAlive(holder)) throw lockedError(path, holder);
}

/**
 * The exclusive right to write one export's files (`<out>.lock`, created with O_EXCL). A lock
 * whose holder died on this host (its pid is gone) is taken over; one held by a live process, or
 * by another host (whose processes cannot be checked), is refused at once, naming the holder.
 */
export class OutputLock {
  readonly path: string;
  readonly #content: string;

  private constructor(path: string, content: string) {
    this.path = path;
    this.#content = content;
  }

  static async acquire(out: string): Promise<OutputLock> {
    const path = exportPaths(out).lock;
    const content = `${JSON.stringify({ pid: process.pid, host: hostname(), startedAt: new Date().toISOString() })}\n`;
    // Two rounds: create, or find a dead holder, remove its lock and create again.
    for (let round = 0; round < 2; round++) {
      try {
        const handle = await open(path, "wx", 0o600);
        try {
          await handle.writeFile(content);
        } finally {
          await handle.close();
        }
        return new OutputLock(path, content);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      }
      const text = await readFile(path, "utf8").catch(() => undefined);
      const holder = text === undefined ? undefined : parseHolder(text);
      if (holder && isAlive(holder)) throw lockedError(out, holder);
      // Dead (or unreadable: a holder killed between create and write). Remove only what was
      // read, so a racing export that already took it over keeps its lock.
      const now = await readFile(path, "utf8").catch(() => undefined);
      if (now !== undefined && now === text) await unlink(path).catch(() => {});
    }
    const holder = await readHolder(path);
    throw holder
      ? lockedError(out, holder)
      : new ExportError(EXPORT_OUTPUT_LOCKED, `Could not lock ${path}: another export keeps taking it.`);
  }

  /** Gives the output up (only if the lock file is still this one's). */
  async release(): Promise<void> {
    const now = await readFile(this.path, "utf8").catch(() => undefined);
    if (now === this.#content) await unlink(this.path).catch(() => {});
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  const text = await readFile(path, "utf8").catch(() => undefined);
  return text === undefined ? undefined : parseHolder(text);
}

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    if (typeof value.pid === "number" && Number.isSafeInteger(value.pid) && typeof value.host === "string") {
      return { pid: value.pid, host: value.host, startedAt: String(value.startedAt ?? "") };
    }
  } catch {
    // Half-written by a holder that died while creating it.
  }
  return undefined;
}

/** True unless the holder is on this host and its pid is gone. */
function isAlive(holder: LockHolder): boolean {
  if (holder.host !== hostname()) return true;
  try {
    process.kill(holder.pid, 0);
    return true;
  } catch (error) {
    // EPERM: the pid exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code !== "ESRCH";
  }
}

function lockedError(out: string, holder: LockHolder): ExportError {
  return new ExportError(
    EXPORT_OUTPUT_LOCKED,
    `Another export (pid ${holder.pid} on ${holder.host}, since ${holder.startedAt}) is writing ${resolve(out)}: ` +
      "wait for it to finish or stop it, or pick another --out.",
  );
}
