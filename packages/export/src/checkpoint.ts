import { readFile } from "node:fs/promises";
import { EXPORT_CHECKPOINT_INVALID, EXPORT_CHECKPOINT_MISMATCH, ExportError } from "./errors.js";
import type { ExportFormat } from "./formats.js";
import { writeFileAtomic } from "./io.js";

/** A course whose rows are all in the partial file; `bytes` is the file's length right after it. */
export interface CompletedCourse {
  id: number;
  bytes: number;
  rows: number;
}

/** A course left out of the output (e.g. the token may not read it, with `skipForbidden`). */
export interface SkippedCourse {
  id: number;
  code: string;
  message: string;
}

/**
 * The sidecar `<out>.checkpoint.json`. Courses are committed to the output strictly in `courseIds`
 * order, so everything before `next` is either in `completed` (in output order) or in `skipped`,
 * and a resume cuts the partial file back to the last completed course's `bytes` (or
 * `headerBytes`) and continues with `courseIds[next]`.
 */
export interface Checkpoint {
  version: 1;
  kind: string;
  format: ExportFormat;
  columns: string[];
  /** The whole plan, sorted ascending: what the run exports, in output order. */
  courseIds: number[];
  /** Index in `courseIds` of the first course not yet committed. */
  next: number;
  headerBytes: number;
  completed: CompletedCourse[];
  skipped: SkippedCourse[];
  startedAt: string;
  updatedAt: string;
}

export const CHECKPOINT_VERSION = 1;

/** Where a file export keeps its state. */
export interface ExportPaths {
  out: string;
  partial: string;
  checkpoint: string;
  spoolDir: string;
  /** Held by the one export writing `out`: its pid and host. */
  lock: string;
}

/** `<out>.partial`, `<out>.checkpoint.json`, the spool directory `<out>.spool/` and `<out>.lock`. */
export function exportPaths(out: string): ExportPaths {
  return {
    out,
    partial: `${out}.partial`,
    checkpoint: `${out}.checkpoint.json`,
    spoolDir: `${out}.spool`,
    lock: `${out}.lock`,
  };
}

/** Length of the partial file the checkpoint vouches for. */
export function committedBytes(checkpoint: Checkpoint): number {
  return checkpoint.completed.at(-1)?.bytes ?? checkpoint.headerBytes;
}

/** Permissions of export files (output, partial, checkpoint) unless told otherwise: they hold student records. */
export const DEFAULT_FILE_MODE = 0o600;

export async function saveCheckpoint(
  path: string,
  checkpoint: Checkpoint,
  mode: number = DEFAULT_FILE_MODE,
): Promise<void> {
  await writeFileAtomic(path, `${JSON.stringify(checkpoint)}\n`, mode);
}

const isCount = (value: unknown): value is number =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
const isId = (value: unknown): value is number => isCount(value) && value > 0;

/**
 * Reads the checkpoint of an interrupted export, or undefined when there is none. A checkpoint
 * that is not internally consistent is refused rather than trusted: resuming from it could
 * duplicate or drop rows.
 */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw new ExportError(EXPORT_CHECKPOINT_INVALID, `Cannot read the checkpoint ${path}.`, { cause: error });
  }
  const invalid = (why: string) =>
    new ExportError(
      EXPORT_CHECKPOINT_INVALID,
      `The checkpoint ${path} is not usable (${why}); delete it and the .partial file to start over.`,
      { checkpointPath: path },
    );
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new ExportError(EXPORT_CHECKPOINT_INVALID, `The checkpoint ${path} is not JSON.`, {
      cause: error,
      checkpointPath: path,
    });
  }
  if (typeof value !== "object" || value === null) throw invalid("not an object");
  const c = value as Partial<Checkpoint>;
  if (c.version !== CHECKPOINT_VERSION) throw invalid(`unknown version ${String(c.version)}`);
  if (typeof c.kind !== "string" || (c.format !== "csv" && c.format !== "ndjson"))
    throw invalid("kind/format");
  if (!Array.isArray(c.columns) || !c.columns.every((col) => typeof col === "string"))
    throw invalid("columns");
  if (!Array.isArray(c.courseIds) || !c.courseIds.every(isId)) throw invalid("courseIds");
  if (!isCount(c.next) || c.next > c.courseIds.length) throw invalid("next");
  if (!isCount(c.headerBytes)) throw invalid("headerBytes");
  if (!Array.isArray(c.completed) || !Array.isArray(c.skipped)) throw invalid("completed/skipped");
  for (const entry of c.completed) {
    if (!isId(entry?.id) || !isCount(entry.bytes) || !isCount(entry.rows)) throw invalid("a completed entry");
  }
  for (const entry of c.skipped) {
    if (!isId(entry?.id) || typeof entry.code !== "string") throw invalid("a skipped entry");
  }
  // Everything before `next` is accounted for exactly once, completed ones in plan order with
  // growing byte offsets.
  const before = c.courseIds.slice(0, c.next);
  const skippedIds = new Set(c.skipped.map((s) => s.id));
  const expectedCompleted = before.filter((id) => !skippedIds.has(id));
  if (
    skippedIds.size !== c.skipped.length ||
    expectedCompleted.length + skippedIds.size !== before.length ||
    expectedCompleted.length !== c.completed.length ||
    c.completed.some((entry, i) => entry.id !== expectedCompleted[i])
  ) {
    throw invalid("its course lists disagree");
  }
  let last = c.headerBytes;
  for (const entry of c.completed) {
    if (entry.bytes < last) throw invalid("byte offsets go backwards");
    last = entry.bytes;
  }
  return {
    version: CHECKPOINT_VERSION,
    kind: c.kind,
    format: c.format,
    columns: c.columns,
    courseIds: c.courseIds,
    next: c.next,
    headerBytes: c.headerBytes,
    completed: c.completed.map(({ id, bytes, rows }) => ({ id, bytes, rows })),
    skipped: c.skipped.map(({ id, code, message }) => ({ id, code, message: String(message ?? "") })),
    startedAt: String(c.startedAt ?? ""),
    updatedAt: String(c.updatedAt ?? ""),
  };
}

/** Refuses to continue a checkpoint written for a different export. */
export function assertSameExport(
  checkpoint: Checkpoint,
  wanted: { kind: string; format: ExportFormat; columns: readonly string[]; courseIds: readonly number[] },
  path: string,
): void {
  const differs: string[] = [];
  if (checkpoint.kind !== wanted.kind) differs.push(`kind ${checkpoint.kind} vs ${wanted.kind}`);
  if (checkpoint.format !== wanted.format) differs.push(`format ${checkpoint.format} vs ${wanted.format}`);
  if (checkpoint.columns.join(",") !== wanted.columns.join(",")) differs.push("columns");
  if (checkpoint.courseIds.join(",") !== wanted.courseIds.join(",")) {
    differs.push(`course list (${checkpoint.courseIds.length} vs ${wanted.courseIds.length} courses)`);
  }
  if (differs.length > 0) {
    throw new ExportError(
      EXPORT_CHECKPOINT_MISMATCH,
      `The checkpoint ${path} belongs to a different export (${differs.join("; ")}). ` +
        "Run without --resume to start over, or repeat the original command.",
      { checkpointPath: path },
    );
  }
}
