import { type Checkpoint, type CompletedCourse, type SkippedCourse, saveCheckpoint } from "./checkpoint.js";
import { type OutputTarget, wrapOutput } from "./io.js";
import type { Serial } from "./serial.js";

export interface CheckpointWriterOptions {
  /** The ledger of this run; `undefined` path: kept in memory only (a stream cannot be resumed). */
  checkpoint: Checkpoint;
  path: string | undefined;
  /** Permissions of the checkpoint file. */
  fileMode: number;
  /** The output whose bytes a checkpoint vouches for: synced before each write. */
  output: OutputTarget;
  /** Least time between two writes. */
  intervalMs: number;
  /** When the checkpoint was last written (ms epoch), 0 if never. */
  savedAt: number;
  /** The lock commits run under: a deferred write takes it too. */
  lock: Serial;
  /** A deferred write failed (nobody awaits it). */
  onError: (error: unknown) => void;
}

/**
 * Keeps the run's ledger (what is committed, what was skipped) and writes it as the sidecar
 * checkpoint, at most every `intervalMs` so a run of many small courses does not fsync each one.
 * Every method except `close` runs under the commit lock.
 */
export class CheckpointWriter {
  readonly checkpoint: Checkpoint;
  readonly #o: CheckpointWriterOptions;
  #lastSave: number;
  #dirty = false;
  /** Set once the export succeeded: no checkpoint may be written after that. */
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: CheckpointWriterOptions) {
    this.#o = options;
    this.checkpoint = options.checkpoint;
    this.#lastSave = options.savedAt;
  }

  /** The course at `next` is in the output, `bytes` long with it. */
  completed(course: CompletedCourse): void {
    this.checkpoint.completed.push(course);
    this.#advance();
  }

  /** The course at `next` was left out. */
  skipped(course: SkippedCourse): void {
    this.checkpoint.skipped.push(course);
    this.#advance();
  }

  /** Writes the checkpoint if it changed: now when `force`, else once `intervalMs` has passed. */
  async save(force: boolean): Promise<void> {
    const path = this.#o.path;
    if (!path || !this.#dirty || this.#closed) return;
    const wait = this.#lastSave + this.#o.intervalMs - Date.now();
    if (!force && wait > 0) {
      // Saved later even if no other course commits meanwhile (a long head course).
      this.#timer ??= setTimeout(() => {
        this.#timer = undefined;
        this.#o.lock.run(() => this.save(true)).catch(this.#o.onError);
      }, wait).unref();
      return;
    }
    await wrapOutput(async () => {
      // The bytes a checkpoint vouches for must be on disk before it says so.
      await this.#o.output.sync();
      this.checkpoint.updatedAt = new Date().toISOString();
      await saveCheckpoint(path, this.checkpoint, this.#o.fileMode);
    });
    this.#dirty = false;
    this.#lastSave = Date.now();
  }

  /** Stops writing: the export succeeded (its checkpoint is about to go) or is over. */
  close(): void {
    this.#closed = true;
    this.cancelDeferred();
  }

  /** Drops a deferred write (the run is stopping and writes one itself if it can). */
  cancelDeferred(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #advance(): void {
    this.checkpoint.next++;
    this.#dirty = true;
  }
}
