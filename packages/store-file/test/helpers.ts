import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type NodeProcess, startNode } from "@easel/test-utils";

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
