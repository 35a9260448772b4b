import { mkdir, mkdtemp, rename, stat, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { Writable } from "node:stream";
import {
  assertSameExport,
  type Checkpoint,
  committedBytes,
  type ExportPaths,
  exportPaths,
  readCheckpoint,
  saveCheckpoint,
} from "./checkpoint.js";
import { EXPORT_CHECKPOINT_INVALID, ExportError } from "./errors.js";
import { FileOutput, type OutputTarget, removeQuietly, Spool, StreamOutput, wrapOutput } from "./io.js";
import { checkExportOutput, OutputLock } from "./output-lock.js";
import { Serial } from "./serial.js";

/**
 * Each course encodes its rows into a write buffer of this many bytes and writes it out when the
 * next piece of text might not fit: big writes (few syscalls), and one buffer reused for the whole
 * course when the target is a file. Text is encoded as soon as it arrives, so row strings die
 * young instead of piling up in the old generation while they wait for a flush.
 */
export const WRITE_BUFFER_BYTES = 256 * 1024;

/** The most UTF-8 bytes one UTF-16 code unit can take (a lone surrogate is written as U+FFFD). */
const MAX_BYTES_PER_UNIT = 3;

/** Where the export goes, as the caller asked. */
export interface OutputPlan {
  output: Writable | string;
  resume: boolean;
  /** Spool directory parent for a stream export. @default os.tmpdir() */
  tempDir: string | undefined;
  /** Permissions of the output, its partial and its checkpoint. */
  fileMode: number;
}

/** An opened output and the ledger it continues from. */
export interface OpenedOutput {
  output: ExportOutput;
  /** `fresh` (header written) or an earlier run's checkpoint, its partial file cut back to it. */
  checkpoint: Checkpoint;
  /** True when the checkpoint came from an interrupted run. */
  resumed: boolean;
  /** When the checkpoint was last written to disk (ms epoch), 0 if never. */
  savedAt: number;
}

/**
 * The export's destination: the partial file (renamed on success) or a caller's stream, plus the
 * directory where courses that run ahead of their turn spool their bytes.
 */
export class ExportOutput {
  readonly target: OutputTarget;
  /** Set for a file export: where its partial, checkpoint and spools live. */
  readonly paths: ExportPaths | undefined;
  readonly #spoolDir: string;
  readonly #buffers: Buffer[] = [];
  /** A file export's exclusive hold on its paths, given up by `commit` and `abandon`. */
  readonly #lock: OutputLock | undefined;

  private constructor(
    target: OutputTarget,
    paths: ExportPaths | undefined,
    spoolDir: string,
    lock: OutputLock | undefined,
  ) {
    this.target = target;
    this.paths = paths;
    this.#spoolDir = spoolDir;
    this.#lock = lock;
  }

  /**
   * Opens (or reopens, for `resume`) the output and writes `header` unless resuming; a new file
   * export's first checkpoint is on disk when this returns. A file export first takes the output's
   * lock (`EXPORT_OUTPUT_LOCKED` while another live export holds it); a missing directory or a
   * directory as output is `EXPORT_OUTPUT_INVALID`; other file-system failures `EXPORT_OUTPUT_FAILED`.
   */
  static async open(plan: OutputPlan, fresh: Checkpoint, header: Buffer): Promise<OpenedOutput> {
    let target: OutputTarget | undefined;
    let lock: OutputLock | undefined;
    try {
      return await wrapOutput(async () => {
        const { output } = plan;
        if (typeof output !== "string") {
          target = new StreamOutput(output);
          const spoolDir = await mkdtemp(join(plan.tempDir ?? tmpdir(), "easel-export-"));
          await target.write(header);
          return {
            output: new ExportOutput(target, undefined, spoolDir, undefined),
            checkpoint: { ...fresh, headerBytes: header.length },
            resumed: false,
            savedAt: 0,
          };
        }
        const paths = exportPaths(resolve(output));
        await checkExportOutput(paths.out);
        lock = await OutputLock.acquire(paths.out);
        await removeQuietly(paths.spoolDir);
        const previous = plan.resume ? await readCheckpoint(paths.checkpoint) : undefined;
        let opened: Omit<OpenedOutput, "output">;
        if (previous) {
          assertSameExport(previous, fresh, paths.checkpoint);
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
          target = await FileOutput.reopen(paths.partial, keep, plan.fileMode);
          opened = { checkpoint: previous, resumed: true, savedAt: 0 };
        } else {
          await removeQuietly(paths.checkpoint);
          target = await FileOutput.create(paths.partial, plan.fileMode);
          await target.write(header);
          const checkpoint = { ...fresh, headerBytes: header.length };
          await target.sync();
          await saveCheckpoint(paths.checkpoint, checkpoint, plan.fileMode);
          opened = { checkpoint, resumed: false, savedAt: Date.now() };
        }
        await mkdir(paths.spoolDir, { recursive: true, mode: 0o700 });
        return { ...opened, output: new ExportOutput(target, paths, paths.spoolDir, lock) };
      });
    } catch (error) {
      // Opened before a later step failed (e.g. the spool directory): do not leak the handle.
      await target?.close().catch(() => {});
      await lock?.release();
      throw error;
    }
  }

  /** Where `courseId` spools while an earlier course owns the output. */
  spoolFor(courseId: number): Spool {
    return new Spool(join(this.#spoolDir, `course-${courseId}.part`));
  }

  /**
   * A write buffer of `WRITE_BUFFER_BYTES`, from those courses gave back: a run holds about as
   * many as courses run at once, not one per course. (Fresh memory costs page faults on first
   * use, which on a small VM is milliseconds per buffer.)
   */
  takeBuffer(): Buffer {
    return this.#buffers.pop() ?? Buffer.allocUnsafe(WRITE_BUFFER_BYTES);
  }

  /** Gives back a buffer nothing refers to any more (never one a stream was given). */
  giveBack(buffer: Buffer): void {
    if (buffer.length === WRITE_BUFFER_BYTES) this.#buffers.push(buffer);
  }

  /**
   * Makes the output final: synced and closed; a file export loses its checkpoint, then its
   * partial file takes the output's name.
   */
  async commit(): Promise<void> {
    const { target, paths } = this;
    await wrapOutput(async () => {
      await target.sync();
      await target.close();
      if (paths) {
        // Checkpoint first: a checkpoint on disk always means "this partial is incomplete".
        await unlink(paths.checkpoint).catch((error: NodeJS.ErrnoException) => {
          if (error.code !== "ENOENT") throw error;
        });
        await rename(paths.partial, paths.out);
      }
    });
    await removeQuietly(this.#spoolDir);
    await this.#lock?.release();
  }

  /** Closes the output as it is (a file export keeps its partial for `resume`) and drops spools. */
  async abandon(): Promise<void> {
    await this.target.close().catch(() => {});
    await removeQuietly(this.#spoolDir);
    await this.#lock?.release();
  }

  /**
   * Closes the output and removes every file of a file export (partial, checkpoint, spools): for
   * a run that can never be resumed.
   */
  async discard(): Promise<void> {
    await this.target.close().catch(() => {});
    await removeQuietly(this.#spoolDir);
    if (this.paths) {
      await removeQuietly(this.paths.checkpoint);
      await removeQuietly(this.paths.partial);
    }
    await this.#lock?.release();
  }
}

/**
 * One course's bytes on their way into the output, which only the course at the head of the
 * order may write: until its turn, serialized rows go to a spool; when its turn comes, the spool
 * is copied over and rows go straight to the output from then on.
 */
export class CourseOutput {
  readonly #courseId: number;
  readonly #output: ExportOutput;
  /** Orders this course's writes against its promotion to the output. */
  readonly #lock = new Serial();
  /** True once the course owns the output (it is the next to commit): rows go straight there. */
  #direct = false;
  /** Output position where this course's bytes start (valid once `#direct`). */
  #startOffset = 0;
  /** Serialized rows, encoded, not yet written anywhere: `#buffer[0, #used)`. */
  #buffer: Buffer | undefined;
  #used = 0;
  #spool: Spool | undefined;

  constructor(courseId: number, output: ExportOutput) {
    this.#courseId = courseId;
    this.#output = output;
  }

  /** The course starts as the head, with nothing spooled: it writes straight to the output. */
  startDirect(): void {
    this.#direct = true;
    this.#startOffset = this.#output.target.position;
  }

  async append(text: string): Promise<void> {
    if (text.length === 0) return;
    const room = WRITE_BUFFER_BYTES - this.#used;
    if (text.length * MAX_BYTES_PER_UNIT > room) {
      if (this.#used > 0) await this.#lock.run(() => this.#flush());
      if (text.length * MAX_BYTES_PER_UNIT > WRITE_BUFFER_BYTES) {
        // Larger than the buffer could ever hold: written as is.
        const data = Buffer.from(text, "utf8");
        await this.#lock.run(() => this.#writeOut(data));
        return;
      }
    }
    this.#buffer ??= this.#output.takeBuffer();
    this.#used += this.#buffer.write(text, this.#used, "utf8");
  }

  /** Writes out whatever is still pending (the course has no more rows). */
  async end(): Promise<void> {
    await this.#lock.run(async () => {
      await this.#flush();
      this.#releaseBuffer();
    });
  }

  /** The course's turn has come: copies its spool to the output; later rows go there directly. */
  async takeOutput(): Promise<void> {
    if (this.#direct) return;
    await this.#lock.run(async () => {
      this.#startOffset = this.#output.target.position;
      await this.#drainSpool();
      this.#direct = true;
    });
  }

  /**
   * Takes back everything this course wrote. False when some of it went to a stream, which
   * cannot take bytes back.
   */
  async undo(): Promise<boolean> {
    return this.#lock.run(async () => {
      this.#used = 0;
      this.#releaseBuffer();
      await this.discardSpool();
      const target = this.#output.target;
      if (this.#direct && target.position > this.#startOffset) {
        return wrapOutput(() => target.truncate(this.#startOffset));
      }
      return true;
    });
  }

  async discardSpool(): Promise<void> {
    const spool = this.#spool;
    this.#spool = undefined;
    await spool?.discard();
  }

  async #flush(): Promise<void> {
    const buffer = this.#buffer;
    if (!buffer || this.#used === 0) return;
    const data = buffer.subarray(0, this.#used);
    this.#used = 0;
    // A stream may hold on to what it was given: it keeps this buffer, the course starts a new one.
    if (this.#direct && this.#output.target.keepsData) this.#buffer = undefined;
    await this.#writeOut(data);
  }

  #releaseBuffer(): void {
    const buffer = this.#buffer;
    this.#buffer = undefined;
    if (buffer) this.#output.giveBack(buffer);
  }

  async #writeOut(data: Buffer): Promise<void> {
    await wrapOutput(async () => {
      if (this.#direct) {
        await this.#output.target.write(data);
      } else {
        this.#spool ??= this.#output.spoolFor(this.#courseId);
        await this.#spool.append(data);
      }
    });
  }

  async #drainSpool(): Promise<void> {
    const spool = this.#spool;
    if (!spool) return;
    this.#spool = undefined;
    await wrapOutput(async () => {
      const target = this.#output.target;
      const chunk = target.keepsData ? undefined : this.#output.takeBuffer();
      try {
        await spool.copyTo(target, chunk);
      } finally {
        if (chunk) this.#output.giveBack(chunk);
      }
      await spool.discard();
    });
  }
}
