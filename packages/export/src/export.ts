/**
 * `ExportRun`: schedules courses at the chosen concurrency, commits them to the output in Canvas's
 * order, classifies failures (resumable or not) and reports progress. Output files and spools live in
 * output.ts, checkpoints in checkpoint-writer.ts. A little over 500 lines: the error classification
 * and the ordered commit are one state machine and read best together.
 */
import type { Writable } from "node:stream";
import { CHECKPOINT_VERSION, type Checkpoint, DEFAULT_FILE_MODE, type SkippedCourse } from "./checkpoint.js";
import { CheckpointWriter } from "./checkpoint-writer.js";
import { type ClientStats, type ExportClient, readClientStats } from "./client.js";
import {
  EXPORT_ABORTED,
  EXPORT_COURSE_FAILED,
  EXPORT_COURSE_FORBIDDEN,
  EXPORT_COURSE_NOT_FOUND,
  EXPORT_OUTPUT_FAILED,
  EXPORT_REAUTH_REQUIRED,
  ExportError,
  errorCode,
  invalidArg,
} from "./errors.js";
import { createRowSerializer, EXPORT_FORMATS, type ExportFormat, type RowSerializer } from "./formats.js";
import { columnsOf, EXPORT_KINDS, type ExportKind, rowBatchesForCourse } from "./kinds.js";
import { CourseOutput, ExportOutput } from "./output.js";
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
  /**
   * Permissions of the output file, its partial and its checkpoint (spools are always 0600).
   * They hold student records, so only the owner may read them unless told otherwise.
   * @default 0o600
   */
  fileMode?: number;
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
  fileMode: number;
}

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
    fileMode: int("fileMode", options.fileMode, DEFAULT_FILE_MODE, 0, 0o777),
  };
}

type SlotState = "queued" | "running" | "finished" | "skipped";

/** Rows serialized into one piece of text before it goes to the course's write buffer. */
const ROWS_PER_APPEND = 100;

/** One course of this run. */
interface CourseSlot {
  index: number;
  courseId: number;
  state: SlotState;
  out: CourseOutput;
  rows: number;
  skip: SkippedCourse | undefined;
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

/**
 * One export: runs the courses `concurrency` at a time and commits them in order. The bytes go
 * through `ExportOutput`/`CourseOutput` (output file or stream, spools); the ledger of what is
 * committed goes through `CheckpointWriter`.
 */
class ExportRun {
  readonly #o: NormalizedOptions;
  readonly #serializer: RowSerializer;
  readonly #commitLock = new Serial();
  readonly #abort = new AbortController();
  readonly #startedAt = Date.now();
  #output!: ExportOutput;
  #ledger!: CheckpointWriter;
  #slots: CourseSlot[] = [];
  /** Index in `#slots` of the first course not yet committed. */
  #head = 0;
  #failure: ExportError | undefined;
  #rowsThisRun = 0;
  #doneThisRun = 0;
  #resumedCourses = 0;
  #resumedRows = 0;
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
      this.#ledger.cancelDeferred();
    }
  }

  // ---- setup ------------------------------------------------------------------------------

  async #open(): Promise<void> {
    const o = this.#o;
    const startedAt = new Date(this.#startedAt).toISOString();
    const fresh = {
      version: CHECKPOINT_VERSION,
      kind: o.kind,
      format: o.format,
      columns: [...this.#serializer.columns],
      courseIds: o.courseIds,
      next: 0,
      headerBytes: 0,
      completed: [],
      skipped: [],
      startedAt,
      updatedAt: startedAt,
    } satisfies Checkpoint;
    const header = Buffer.from(this.#serializer.header(), "utf8");
    const opened = await ExportOutput.open(o, fresh, header);
    const { output, checkpoint } = opened;
    this.#output = output;
    this.#ledger = new CheckpointWriter({
      checkpoint,
      path: output.paths?.checkpoint,
      output: output.target,
      intervalMs: o.checkpointIntervalMs,
      savedAt: opened.savedAt,
      lock: this.#commitLock,
      fileMode: o.fileMode,
      onError: (error) => this.#fail(this.#classify(error)),
    });
    if (opened.resumed) {
      this.#resumedCourses = checkpoint.completed.length + checkpoint.skipped.length;
      this.#resumedRows = checkpoint.completed.reduce((sum, c) => sum + c.rows, 0);
    }
    this.#slots = checkpoint.courseIds.slice(checkpoint.next).map((courseId, index) => ({
      index,
      courseId,
      state: "queued",
      out: new CourseOutput(courseId, output),
      rows: 0,
      skip: undefined,
    }));
  }

  // ---- one course -------------------------------------------------------------------------

  async #runCourse(slot: CourseSlot): Promise<void> {
    try {
      await this.#commitLock.run(async () => {
        slot.state = "running";
        if (slot.index === this.#head) slot.out.startDirect();
      });
      // A page of rows at a time, serialized into one piece of text: per-row awaits cost more
      // than the rows' serialization at a million rows.
      const serializer = this.#serializer;
      const batches = rowBatchesForCourse(this.#o.client, this.#o.kind, slot.courseId, {
        signal: this.#abort.signal,
      });
      for await (const batch of batches) {
        // In slices, so a big page (10,000 rows of a grouped page) never becomes one huge string.
        for (let start = 0; start < batch.length; start += ROWS_PER_APPEND) {
          const end = Math.min(batch.length, start + ROWS_PER_APPEND);
          let text = "";
          for (let i = start; i < end; i++) text += serializer.line(batch[i]!);
          slot.rows += end - start;
          this.#rowsThisRun += end - start;
          await slot.out.append(text);
        }
      }
      await slot.out.end();
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
      this.#fail(await this.#classifyCourseFailure(error, slot));
    }
  }

  /**
   * A 404 on any of a course's pages is a missing course only when Canvas says so of the course
   * itself (an assignment deleted mid-run also answers 404); that costs one request, on failure only.
   */
  async #classifyCourseFailure(error: unknown, slot: CourseSlot): Promise<ExportError> {
    if (errorCode(error) === "CANVAS_NOT_FOUND") {
      const courseAnswers = await this.#o.client
        .request("GET", `/api/v1/courses/${slot.courseId}`, { signal: this.#o.signal })
        .then(
          () => true,
          (lookup: unknown) => errorCode(lookup) !== "CANVAS_NOT_FOUND",
        );
      if (!courseAnswers) {
        return new ExportError(
          EXPORT_COURSE_NOT_FOUND,
          `Course ${slot.courseId} does not exist, or this token cannot see it: check the course id (and the account the token belongs to).`,
          { cause: error, courseId: slot.courseId },
        );
      }
    }
    return this.#classify(error, slot);
  }

  /** Takes back whatever a skipped course wrote, then lets the next course have the output. */
  async #skip(slot: CourseSlot, error: unknown): Promise<void> {
    await this.#commitLock.run(async () => {
      if (!(await slot.out.undo())) {
        throw new ExportError(
          EXPORT_COURSE_FORBIDDEN,
          `Course ${slot.courseId} became unreadable after some of its rows were written to the stream; ` +
            "they cannot be taken back, so the export stops.",
          { courseId: slot.courseId, cause: error },
        );
      }
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
    while (this.#head < this.#slots.length) {
      const slot = this.#slots[this.#head]!;
      if (slot.state === "finished") {
        await slot.out.takeOutput();
        this.#ledger.completed({ id: slot.courseId, bytes: this.#output.target.position, rows: slot.rows });
      } else if (slot.state === "skipped") {
        this.#ledger.skipped(slot.skip!);
      } else {
        if (slot.state === "running") await slot.out.takeOutput();
        break;
      }
      this.#head++;
    }
    await this.#ledger.save(false);
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
    for (const slot of this.#slots) await slot.out.discardSpool();
    if (failure.code === EXPORT_COURSE_NOT_FOUND) {
      // The plan names a course that is not there: a resume would stop at it again, and another
      // plan cannot continue this checkpoint. Nothing worth keeping.
      await this.#output.discard();
      return new ExportError(failure.code, failure.message, {
        cause: failure.cause,
        courseId: failure.courseId,
      });
    }
    const paths = this.#output.paths;
    let resumable = false;
    if (paths) {
      try {
        await this.#commitLock.run(() => this.#ledger.save(true));
        resumable = true;
      } catch {
        resumable = false;
      }
    }
    await this.#output.abandon();
    return new ExportError(failure.code, failure.message, {
      cause: failure.cause,
      courseId: failure.courseId,
      resumable,
      partialPath: paths?.partial,
      checkpointPath: paths?.checkpoint,
      coursesCompleted: this.#ledger.checkpoint.completed.length,
    });
  }

  async #finish(): Promise<ExportSummary> {
    this.#ledger.close();
    const paths = this.#output.paths;
    const bytes = this.#output.target.position;
    await this.#output.commit();
    this.#emitProgress();
    const elapsedMs = Date.now() - this.#startedAt;
    const checkpoint = this.#ledger.checkpoint;
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
    const checkpoint = this.#ledger.checkpoint;
    const total = checkpoint.courseIds.length;
    const done = this.#resumedCourses + this.#doneThisRun;
    const skipped =
      checkpoint.skipped.length +
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
