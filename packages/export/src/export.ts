import { mkdir, mkdtemp, rename, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import {
  assertSameExport,
  CHECKPOINT_VERSION,
  type Checkpoint,
  committedBytes,
  type ExportPaths,
  exportPaths,
  readCheckpoint,
  type SkippedCourse,
  saveCheckpoint,
} from "./checkpoint.js";
import { type ClientStats, type ExportClient, readClientStats } from "./client.js";
import {
  EXPORT_ABORTED,
  EXPORT_CHECKPOINT_INVALID,
  EXPORT_COURSE_FAILED,
  EXPORT_COURSE_FORBIDDEN,
  EXPORT_OUTPUT_FAILED,
  EXPORT_REAUTH_REQUIRED,
  ExportError,
  errorCode,
  invalidArg,
} from "./errors.js";
import { createRowSerializer, EXPORT_FORMATS, type ExportFormat, type RowSerializer } from "./formats.js";
import { FileOutput, type OutputTarget, removeQuietly, Spool, StreamOutput } from "./io.js";
import { columnsOf, EXPORT_KINDS, type ExportKind, rowsForCourse } from "./kinds.js";
import { Serial } from "./serial.js";

/** Figures for a progress bar, reported while the export runs. */
export interface ExportProgress {
  kind: ExportKind;
  coursesTotal: number;
  /** Courses fetched completely or skipped (including those a resumed run found done). */
  coursesDone: number;
  coursesSkipped: number;
  /** Rows fetched so far (including those a resumed run found in the partial file). */
  rows: number;
  /** Rows per second fetched by this run. */
  rowsPerSecond: number;
  elapsedMs: number;
  /** Estimated time left, from this run's pace per course; undefined until a course is done. */
  etaMs: number | undefined;
  /** The client's counters so far (requests, retries, throttled, refreshes). */
  client: ClientStats;
}

/** What a successful export did. */
export interface ExportSummary {
  kind: ExportKind;
  format: ExportFormat;
  /** The output path, or "-" for a stream. */
  output: string;
  coursesTotal: number;
  /** Courses whose rows are in the output (empty courses included). */
  coursesExported: number;
  /** Of those, how many an earlier, interrupted run had already written (`resume`). */
  coursesResumed: number;
  /** Courses left out, e.g. forbidden ones with `skipForbidden`. Never silent: always listed here. */
  skipped: SkippedCourse[];
  rows: number;
  bytes: number;
  elapsedMs: number;
  rowsPerSecond: number;
  client: ClientStats;
}

export interface ExportCoursesOptions {
  /** A `CanvasClient` from `@easel/canvas-client`. */
  client: ExportClient;
  kind: ExportKind;
  /** Courses to export; deduplicated and sorted ascending (that is the output order). */
  courseIds: readonly number[];
  format: ExportFormat;
  /**
   * A file path (written as `<path>.partial` and renamed on success, with a sidecar
   * `<path>.checkpoint.json` for `resume`) or a stream such as `process.stdout` (not ended).
   */
  output: Writable | string;
  /** Courses fetched at once. Output order does not depend on it. @default 4 */
  concurrency?: number;
  /**
   * Continue an interrupted file export from its checkpoint: the partial file is cut back to the
   * last completed course and the run goes on with the next one. Without a checkpoint the export
   * starts over. Without `resume`, any old partial and checkpoint are discarded.
   * @default false
   */
  resume?: boolean;
  /**
   * Leave out courses the token may not read (`CANVAS_FORBIDDEN`), listing them in the summary,
   * instead of failing the run.
   * @default false
   */
  skipForbidden?: boolean;
  /** Called at most every `progressIntervalMs`, after each course, and once at the end. */
  onProgress?: (progress: ExportProgress) => void;
  /** @default 250 */
  progressIntervalMs?: number;
  /** Least time between two checkpoint writes (one is always written when the run stops). @default 500 */
  checkpointIntervalMs?: number;
  /** Stops the export; a file export stays resumable. */
  signal?: AbortSignal;
  /** Where a stream export spools courses that finish ahead of their turn. @default os.tmpdir() */
  tempDir?: string;
}

interface NormalizedOptions {
  client: ExportClient;
  kind: ExportKind;
  courseIds: number[];
  format: ExportFormat;
  output: Writable | string;
  concurrency: number;
  resume: boolean;
  skipForbidden: boolean;
  onProgress: ((progress: ExportProgress) => void) | undefined;
  progressIntervalMs: number;
  checkpointIntervalMs: number;
  signal: AbortSignal | undefined;
  tempDir: string | undefined;
}

/** Text is turned into bytes and written in pieces of about this many UTF-16 units. */
const FLUSH_CHARS = 64 * 1024;

function isWritable(value: unknown): value is Writable {
  return (
    typeof value === "object" &&
    value !== null &&
    typeof (value as Writable).write === "function" &&
    typeof (value as Writable).on === "function"
  );
}

function normalizeOptions(options: ExportCoursesOptions): NormalizedOptions {
  if (typeof options !== "object" || options === null)
    throw invalidArg("options", options, "must be an object");
  const { client } = options;
  if (typeof client !== "object" || client === null || typeof client.paginate !== "function") {
    throw invalidArg("client", client, "must be a CanvasClient");
  }
  if (!EXPORT_KINDS.includes(options.kind)) {
    throw invalidArg("kind", options.kind, `must be one of ${EXPORT_KINDS.join(", ")}`);
  }
  if (!EXPORT_FORMATS.includes(options.format)) {
    throw invalidArg("format", options.format, `must be one of ${EXPORT_FORMATS.join(", ")}`);
  }
  if (!Array.isArray(options.courseIds)) throw invalidArg("courseIds", options.courseIds, "must be an array");
  for (const id of options.courseIds) {
    if (typeof id !== "number" || !Number.isSafeInteger(id) || id <= 0) {
      throw invalidArg("courseIds", id, "must hold positive integer course ids");
    }
  }
  const courseIds = [...new Set(options.courseIds)].sort((a, b) => a - b);
  const { output } = options;
  if (typeof output === "string") {
    if (output.length === 0 || output === "-")
      throw invalidArg("output", output, "must be a file path or a stream");
  } else if (!isWritable(output)) {
    throw invalidArg("output", output, "must be a file path or a Writable stream");
  }
  const resume = options.resume ?? false;
  if (resume && typeof output !== "string") {
    throw invalidArg("resume", resume, "needs output to be a file path (a stream cannot be resumed)");
  }
  const int = (name: string, value: unknown, fallback: number, min: number, max: number): number => {
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      throw invalidArg(name, value, `must be an integer from ${min} to ${max}`);
    }
    return value;
  };
  if (options.onProgress !== undefined && typeof options.onProgress !== "function") {
    throw invalidArg("onProgress", options.onProgress, "must be a function");
  }
  return {
    client,
    kind: options.kind,
    courseIds,
    format: options.format,
    output,
    concurrency: int("concurrency", options.concurrency, 4, 1, 256),
    resume,
    skipForbidden: options.skipForbidden ?? false,
    onProgress: options.onProgress,
    progressIntervalMs: int("progressIntervalMs", options.progressIntervalMs, 250, 10, 3_600_000),
    checkpointIntervalMs: int("checkpointIntervalMs", options.checkpointIntervalMs, 500, 0, 3_600_000),
    signal: options.signal,
    tempDir: options.tempDir,
  };
}

type SlotState = "queued" | "running" | "finished" | "skipped";

/** One course of this run. */
interface CourseSlot {
  index: number;
  courseId: number;
  state: SlotState;
  /** True once the course owns the output (it is the next to commit): rows go straight there. */
  direct: boolean;
  /** Output position where this course's bytes start (valid once `direct`). */
  startOffset: number;
  /** Serialized rows not yet written anywhere (at most ~FLUSH_CHARS). */
  pending: string;
  spool: Spool | undefined;
  rows: number;
  skip: SkippedCourse | undefined;
  /** Orders this course's writes against its promotion to the output. */
  lock: Serial;
}

/**
 * Exports one kind for many courses into one file or stream.
 *
 * - Courses are fetched `concurrency` at a time, each course's pages in Canvas's order.
 * - The output is always sorted by course id, then Canvas's order, whatever the concurrency: the
 *   course that owns the output writes straight to it; courses that run ahead spool to temp files
 *   and are appended when their turn comes, so memory stays flat.
 * - A file export writes `<out>.partial` and renames it to `<out>` only on success; the sidecar
 *   `<out>.checkpoint.json` makes an interrupted run resumable without duplicating rows.
 * - A forbidden course fails the run, or is skipped and listed with `skipForbidden`. A revoked
 *   token stops the run with `EXPORT_REAUTH_REQUIRED`, keeping the partial file and checkpoint.
 *
 * @example
 * const summary = await exportCourses({
 *   client, kind: "grades", courseIds: [101, 102], format: "csv", output: "grades.csv", concurrency: 8,
 * });
 * console.log(`${summary.rows} rows`);
 */
export async function exportCourses(options: ExportCoursesOptions): Promise<ExportSummary> {
  const normalized = normalizeOptions(options);
  const serializer = createRowSerializer(normalized.format, columnsOf(normalized.kind));
  return new ExportRun(normalized, serializer).execute();
}

class ExportRun {
  readonly #o: NormalizedOptions;
  readonly #serializer: RowSerializer;
  readonly #commitLock = new Serial();
  readonly #abort = new AbortController();
  readonly #startedAt = Date.now();
  #paths: ExportPaths | undefined;
  #output!: OutputTarget;
  #spoolDir!: string;
  #checkpoint!: Checkpoint;
  #slots: CourseSlot[] = [];
  #head = 0;
  #failure: ExportError | undefined;
  #rowsThisRun = 0;
  #doneThisRun = 0;
  #resumedCourses = 0;
  #resumedRows = 0;
  #lastSave = 0;
  #dirty = false;
  /** Set once the export succeeded: no checkpoint may be written after that. */
  #finished = false;
  #saveTimer: NodeJS.Timeout | undefined;
  #progressTimer: NodeJS.Timeout | undefined;

  constructor(options: NormalizedOptions, serializer: RowSerializer) {
    this.#o = options;
    this.#serializer = serializer;
  }

  async execute(): Promise<ExportSummary> {
    const { signal } = this.#o;
    if (signal?.aborted) throw this.#abortedError();
    await this.#open();
    const onAbort = () => this.#fail(this.#abortedError());
    signal?.addEventListener("abort", onAbort, { once: true });
    if (this.#o.onProgress) {
      this.#progressTimer = setInterval(() => this.#emitProgress(), this.#o.progressIntervalMs);
      this.#progressTimer.unref();
    }
    try {
      let next = 0;
      const worker = async () => {
        while (!this.#failure && next < this.#slots.length) await this.#runCourse(this.#slots[next++]!);
      };
      const workers = Math.min(this.#o.concurrency, this.#slots.length);
      await Promise.all(Array.from({ length: workers }, worker));
      if (!this.#failure && this.#head !== this.#slots.length) {
        this.#fail(new ExportError(EXPORT_OUTPUT_FAILED, "Internal error: not every course was committed."));
      }
      if (this.#failure) throw await this.#stopFailed(this.#failure);
      return await this.#finish();
    } finally {
      signal?.removeEventListener("abort", onAbort);
      clearInterval(this.#progressTimer);
      clearTimeout(this.#saveTimer);
    }
  }

  // ---- setup ------------------------------------------------------------------------------

  /** Opens (or reopens, for `resume`) the output; file-system failures become `EXPORT_OUTPUT_FAILED`. */
  async #open(): Promise<void> {
    try {
      await wrapOutput(() => this.#openOutput());
    } catch (error) {
      // Opened before a later step failed (e.g. the spool directory): do not leak the handle.
      await (this.#output as OutputTarget | undefined)?.close().catch(() => {});
      throw error;
    }
  }

  async #openOutput(): Promise<void> {
    const o = this.#o;
    const base = {
      version: CHECKPOINT_VERSION,
      kind: o.kind,
      format: o.format,
      columns: [...this.#serializer.columns],
      courseIds: o.courseIds,
      next: 0,
      headerBytes: 0,
      completed: [],
      skipped: [],
      startedAt: new Date(this.#startedAt).toISOString(),
      updatedAt: new Date(this.#startedAt).toISOString(),
    } satisfies Checkpoint;
    const header = Buffer.from(this.#serializer.header(), "utf8");

    if (typeof o.output === "string") {
      const paths = exportPaths(resolve(o.output));
      this.#paths = paths;
      await removeQuietly(paths.spoolDir);
      const previous = o.resume ? await readCheckpoint(paths.checkpoint) : undefined;
      if (previous) {
        assertSameExport(previous, base, paths.checkpoint);
        const keep = committedBytes(previous);
        const size = await stat(paths.partial).then(
          (s) => s.size,
          () => -1,
        );
        if (size < keep) {
          throw new ExportError(
            EXPORT_CHECKPOINT_INVALID,
            size < 0
              ? `The checkpoint ${paths.checkpoint} has no partial file ${paths.partial}; run without --resume to start over.`
              : `The partial file ${paths.partial} is shorter than its checkpoint says; run without --resume to start over.`,
            { checkpointPath: paths.checkpoint, partialPath: paths.partial },
          );
        }
        this.#output = await FileOutput.reopen(paths.partial, keep);
        this.#checkpoint = previous;
        this.#resumedCourses = previous.completed.length + previous.skipped.length;
        this.#resumedRows = previous.completed.reduce((sum, c) => sum + c.rows, 0);
      } else {
        await removeQuietly(paths.checkpoint);
        this.#output = await FileOutput.create(paths.partial);
        await this.#output.write(header);
        this.#checkpoint = { ...base, headerBytes: header.length };
        await this.#output.sync();
        await saveCheckpoint(paths.checkpoint, this.#checkpoint);
        this.#lastSave = Date.now();
      }
      await mkdir(paths.spoolDir, { recursive: true, mode: 0o700 });
      this.#spoolDir = paths.spoolDir;
    } else {
      this.#output = new StreamOutput(o.output);
      this.#spoolDir = await mkdtemp(join(o.tempDir ?? tmpdir(), "easel-export-"));
      await this.#output.write(header);
      this.#checkpoint = { ...base, headerBytes: header.length };
    }

    this.#slots = this.#checkpoint.courseIds.slice(this.#checkpoint.next).map((courseId, index) => ({
      index,
      courseId,
      state: "queued",
      direct: false,
      startOffset: 0,
      pending: "",
      spool: undefined,
      rows: 0,
      skip: undefined,
      lock: new Serial(),
    }));
  }

  // ---- one course -------------------------------------------------------------------------

  async #runCourse(slot: CourseSlot): Promise<void> {
    try {
      await this.#commitLock.run(async () => {
        slot.state = "running";
        if (slot.index === this.#head) {
          slot.direct = true;
          slot.startOffset = this.#output.position;
        }
      });
      const rows = rowsForCourse(this.#o.client, this.#o.kind, slot.courseId, { signal: this.#abort.signal });
      for await (const row of rows) {
        slot.pending += this.#serializer.line(row);
        slot.rows++;
        this.#rowsThisRun++;
        if (slot.pending.length >= FLUSH_CHARS) await slot.lock.run(() => this.#flush(slot));
      }
      await slot.lock.run(() => this.#flush(slot));
      slot.state = "finished";
      this.#doneThisRun++;
      await this.#commitLock.run(() => this.#advance());
      this.#emitProgress();
    } catch (error) {
      // Courses cancelled because another one failed say nothing of their own.
      if (this.#failure) return;
      if (errorCode(error) === "CANVAS_FORBIDDEN" && this.#o.skipForbidden) {
        try {
          await this.#skip(slot, error);
        } catch (skipError) {
          this.#fail(this.#classify(skipError, slot));
        }
        return;
      }
      this.#fail(this.#classify(error, slot));
    }
  }

  async #flush(slot: CourseSlot): Promise<void> {
    if (slot.pending.length === 0) return;
    const data = Buffer.from(slot.pending, "utf8");
    slot.pending = "";
    await wrapOutput(async () => {
      if (slot.direct) {
        await this.#output.write(data);
      } else {
        slot.spool ??= new Spool(join(this.#spoolDir, `course-${slot.courseId}.part`));
        await slot.spool.append(data);
      }
    });
  }

  /** Takes back whatever a skipped course wrote, then lets the next course have the output. */
  async #skip(slot: CourseSlot, error: unknown): Promise<void> {
    await this.#commitLock.run(async () => {
      await slot.lock.run(async () => {
        slot.pending = "";
        await slot.spool?.discard();
        slot.spool = undefined;
        if (slot.direct && this.#output.position > slot.startOffset) {
          const undone = await wrapOutput(() => this.#output.truncate(slot.startOffset));
          if (!undone) {
            throw new ExportError(
              EXPORT_COURSE_FORBIDDEN,
              `Course ${slot.courseId} became unreadable after some of its rows were written to the stream; ` +
                "they cannot be taken back, so the export stops.",
              { courseId: slot.courseId, cause: error },
            );
          }
        }
      });
      slot.state = "skipped";
      slot.rows = 0;
      slot.skip = {
        id: slot.courseId,
        code: errorCode(error) ?? "CANVAS_FORBIDDEN",
        message: error instanceof Error ? error.message : String(error),
      };
      this.#doneThisRun++;
      await this.#advance();
    });
    this.#emitProgress();
  }

  /**
   * Commits finished courses at the head, in order, then hands the output to the next course:
   * its spooled bytes are copied and it writes directly from then on. Runs under the commit lock.
   */
  async #advance(): Promise<void> {
    const checkpoint = this.#checkpoint;
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head]!;
      if (slot.state === "finished") {
        if (!slot.direct) await slot.lock.run(() => this.#drainSpool(slot));
        checkpoint.completed.push({ id: slot.courseId, bytes: this.#output.position, rows: slot.rows });
      } else if (slot.state === "skipped") {
        checkpoint.skipped.push(slot.skip!);
      } else {
        if (slot.state === "running" && !slot.direct) {
          await slot.lock.run(async () => {
            slot.startOffset = this.#output.position;
            await this.#drainSpool(slot);
            slot.direct = true;
          });
        }
        break;
      }
      checkpoint.next++;
      this.#head++;
      this.#dirty = true;
    }
    await this.#saveCheckpoint(false);
  }

  async #drainSpool(slot: CourseSlot): Promise<void> {
    const spool = slot.spool;
    if (!spool) return;
    slot.spool = undefined;
    await wrapOutput(async () => {
      await spool.copyTo(this.#output);
      await spool.discard();
    });
  }

  /** Writes the checkpoint at most every `checkpointIntervalMs` (always when `force`). Under the commit lock. */
  async #saveCheckpoint(force: boolean): Promise<void> {
    const paths = this.#paths;
    if (!paths || !this.#dirty || this.#finished) return;
    const wait = this.#lastSave + this.#o.checkpointIntervalMs - Date.now();
    if (!force && wait > 0) {
      // Saved later even if no other course commits meanwhile (a long head course).
      this.#saveTimer ??= setTimeout(() => {
        this.#saveTimer = undefined;
        this.#commitLock
          .run(() => this.#saveCheckpoint(true))
          .catch((error) => this.#fail(this.#classify(error)));
      }, wait).unref();
      return;
    }
    await wrapOutput(async () => {
      // The bytes a checkpoint vouches for must be on disk before it says so.
      await this.#output.sync();
      this.#checkpoint.updatedAt = new Date().toISOString();
      await saveCheckpoint(paths.checkpoint, this.#checkpoint);
    });
    this.#dirty = false;
    this.#lastSave = Date.now();
  }

  // ---- failure and success ------------------------------------------------------------------

  #abortedError(): ExportError {
    return new ExportError(EXPORT_ABORTED, "The export was cancelled.", { cause: this.#o.signal?.reason });
  }

  #fail(error: ExportError): void {
    if (this.#failure) return;
    this.#failure = error;
    this.#abort.abort(error);
  }

  #classify(error: unknown, slot?: CourseSlot): ExportError {
    if (error instanceof ExportError) return error;
    const code = errorCode(error);
    const course = slot ? `course ${slot.courseId}` : "the export";
    const reason = error instanceof Error ? error.message : String(error);
    if (code === "REAUTH_REQUIRED") {
      return new ExportError(
        EXPORT_REAUTH_REQUIRED,
        `Canvas needs a new authorization (the token was revoked or can no longer be refreshed) while reading ${course}.`,
        { cause: error, courseId: slot?.courseId },
      );
    }
    if (code === "CANVAS_FORBIDDEN") {
      return new ExportError(
        EXPORT_COURSE_FORBIDDEN,
        `The token may not read ${course} (${reason}). Skip such courses with --skip-forbidden, or fix the permission and resume.`,
        { cause: error, courseId: slot?.courseId },
      );
    }
    return new ExportError(EXPORT_COURSE_FAILED, `Exporting ${course} failed: ${reason}`, {
      cause: error,
      courseId: slot?.courseId,
    });
  }

  /** Keeps what can be resumed (partial + checkpoint), drops spools, and returns the error to throw. */
  async #stopFailed(failure: ExportError): Promise<ExportError> {
    for (const slot of this.#slots) await slot.spool?.discard();
    let resumable = false;
    if (this.#paths) {
      try {
        await this.#commitLock.run(() => this.#saveCheckpoint(true));
        resumable = true;
      } catch {
        resumable = false;
      }
    }
    await this.#output.close().catch(() => {});
    await removeQuietly(this.#spoolDir);
    const completed = this.#checkpoint.completed.length;
    return new ExportError(failure.code, failure.message, {
      cause: failure.cause,
      courseId: failure.courseId,
      resumable,
      partialPath: this.#paths?.partial,
      checkpointPath: this.#paths?.checkpoint,
      coursesCompleted: completed,
    });
  }

  async #finish(): Promise<ExportSummary> {
    this.#finished = true;
    clearTimeout(this.#saveTimer);
    const paths = this.#paths;
    const bytes = this.#output.position;
    await wrapOutput(async () => {
      await this.#output.sync();
      await this.#output.close();
      if (paths) {
        // Checkpoint first: a checkpoint on disk always means "this partial is incomplete".
        await unlink(paths.checkpoint).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
        await rename(paths.partial, paths.out);
      }
    });
    await removeQuietly(this.#spoolDir);
    this.#emitProgress();
    const elapsedMs = Date.now() - this.#startedAt;
    const checkpoint = this.#checkpoint;
    return {
      kind: this.#o.kind,
      format: this.#o.format,
      output: paths ? paths.out : "-",
      coursesTotal: checkpoint.courseIds.length,
      coursesExported: checkpoint.completed.length,
      coursesResumed: this.#resumedCourses,
      skipped: [...checkpoint.skipped],
      rows: checkpoint.completed.reduce((sum, c) => sum + c.rows, 0),
      bytes,
      elapsedMs,
      rowsPerSecond: elapsedMs > 0 ? (this.#rowsThisRun * 1000) / elapsedMs : 0,
      client: readClientStats(this.#o.client),
    };
  }

  // ---- progress ---------------------------------------------------------------------------

  #emitProgress(): void {
    const onProgress = this.#o.onProgress;
    if (!onProgress) return;
    const elapsedMs = Date.now() - this.#startedAt;
    const total = this.#checkpoint.courseIds.length;
    const done = this.#resumedCourses + this.#doneThisRun;
    const skipped =
      this.#checkpoint.skipped.length +
      this.#slots.filter((s) => s.state === "skipped" && s.index >= this.#head).length;
    const remaining = total - done;
    try {
      onProgress({
        kind: this.#o.kind,
        coursesTotal: total,
        coursesDone: done,
        coursesSkipped: skipped,
        rows: this.#resumedRows + this.#rowsThisRun,
        rowsPerSecond: elapsedMs > 0 ? (this.#rowsThisRun * 1000) / elapsedMs : 0,
        elapsedMs,
        etaMs: this.#doneThisRun > 0 ? Math.round((elapsedMs / this.#doneThisRun) * remaining) : undefined,
        client: readClientStats(this.#o.client),
      });
    } catch {
      // A broken progress display must not break the export.
    }
  }
}

/** Output, spool and checkpoint I/O failures become `EXPORT_OUTPUT_FAILED`. */
async function wrapOutput<T>(section: () => Promise<T>): Promise<T> {
  try {
    return await section();
  } catch (error) {
    if (error instanceof ExportError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ExportError(EXPORT_OUTPUT_FAILED, `Writing the export failed: ${reason}`, { cause: error });
  }
}
