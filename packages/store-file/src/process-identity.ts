import { readFile, readlink } from "node:fs/promises";
import { hostname } from "node:os";

/**
 * Telling a dead lock holder from a live one on this host, without trusting a bare pid: pids are
 * reused, so a holder is named by its pid AND its process start time (field 22 of /proc/PID/stat,
 * clock ticks since boot), qualified by the boot id (ticks restart at every boot) and the pid
 * namespace (two containers sharing a volume and a host name see different processes under one
 * pid). Where /proc is absent nothing is judged dead: the lock's ttl decides, as before.
 */

/** What a holder records about its own process: `<boot id>:<pid namespace>:<start ticks>`. */
export type ProcessStart = string;

/** The verdict on a recorded holder: only `dead` lets a waiter take its lock before the ttl. */
export type HolderState = "alive" | "dead" | "unknown";

export interface RecordedHolder {
  pid: number;
  host: string;
  start?: ProcessStart | undefined;
}

interface ProcStat {
  state: string;
  startTicks: string;
}

let self: Promise<ProcessStart | undefined> | undefined;

/** This process's start identity, or undefined where /proc does not tell it. */
export function ownProcessStart(): Promise<ProcessStart | undefined> {
  self ??= (async () => {
    const context = await systemContext();
    const stat = context ? await readStat(process.pid).catch(() => undefined) : undefined;
    return context && stat ? `${context}:${stat.startTicks}` : undefined;
  })();
  return self;
}

/**
 * Whether the process that recorded `holder` still runs. `dead` only when that is certain: same
 * host, same boot and pid namespace, and the pid is gone, a zombie, or a later process (another
 * start time). A holder from an earlier boot of this host is dead too.
 */
export async function holderState(holder: RecordedHolder): Promise<HolderState> {
  if (holder.host !== hostname() || !holder.start) return "unknown";
  const own = await ownProcessStart();
  if (!own) return "unknown";
  const [boot, namespace, ticks] = splitStart(holder.start);
  const [ownBoot, ownNamespace] = splitStart(own);
  if (namespace !== ownNamespace || !ticks) return "unknown";
  if (boot !== ownBoot) return "dead";
  let stat: ProcStat | undefined;
  try {
    stat = await readStat(holder.pid);
  } catch {
    return "unknown"; // /proc answered something we cannot read: do not guess
  }
  if (!stat || stat.state === "Z" || stat.state === "X") return "dead";
  return stat.startTicks === ticks ? "alive" : "dead";
}

function splitStart(start: ProcessStart): [string, string, string] {
  const last = start.lastIndexOf(":");
  const boot = start.indexOf(":");
  return [start.slice(0, boot), start.slice(boot + 1, last), start.slice(last + 1)];
}

async function systemContext(): Promise<string | undefined> {
  try {
    const [boot, namespace] = await Promise.all([
      readFile("/proc/sys/kernel/random/boot_id", "utf8"),
      readlink("/proc/self/ns/pid"),
    ]);
    return `${boot.trim()}:${namespace}`;
  } catch {
    return undefined;
  }
}

/** The state and start time of `pid`; undefined if no such process. Throws if /proc is unusable. */
async function readStat(pid: number): Promise<ProcStat | undefined> {
  let text: string;
  try {
    text = await readFile(`/proc/${pid}/stat`, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
  const state = fields[0];
  const startTicks = fields[19]; // field 22 of the whole line
  if (!state || !startTicks || !/^\d+$/.test(startTicks)) throw new Error(`unreadable /proc/${pid}/stat`);
  return { state, startTicks };
}
