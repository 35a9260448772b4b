import { once } from "node:events";
import { chmod, type FileHandle, open, rename, rm, unlink, writeFile } from "node:fs/promises";
import type { Writable } from "node:stream";
import { EXPORT_OUTPUT_FAILED, ExportError } from "./errors.js";

/** Where committed bytes go: the partial file, or a caller's stream. One writer at a time. */
export interface OutputTarget {
  /** Bytes written so far (for a resumed file: including what the earlier run kept). */
  readonly position: number;
  /**
   * True when `write` may keep `data` after it resolves (a stream queues it): the caller must
   * not reuse that buffer. False for a file, which is done with `data` once `write` resolves.
   */
  readonly keepsData: boolean;
  write(data: Buffer): Promise<void>;
  /** Cuts the output back to `length` bytes; false when the target cannot (a stream). */
  truncate(length: number): Promise<boolean>;
  /** Makes what was written durable before a checkpoint claims it. */
  sync(): Promise<void>;
  close(): Promise<void>;
}

/** The partial file, written at explicit positions so `position` is exactly what is on disk. */
export class FileOutput implements OutputTarget {
  readonly keepsData = false;
  readonly #handle: FileHandle;
  #position: number;

  private constructor(handle: FileHandle, position: number) {
    this.#handle = handle;
    this.#position = position;
  }

  /**
   * Creates (or empties) the file with permissions `mode`, also when an earlier run left it with
   * others (`open` applies a mode only to a file it creates).
   */
  static async create(path: string, mode: number): Promise<FileOutput> {
    const handle = await open(path, "w", mode);
    try {
      await handle.chmod(mode);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new FileOutput(handle, 0);
  }

  /** Opens an existing file for continuing at `length`, cutting anything after it. */
  static async reopen(path: string, length: number, mode: number): Promise<FileOutput> {
    const handle = await open(path, "r+");
    try {
      await handle.chmod(mode);
      await handle.truncate(length);
    } catch (error) {
      await handle.close();
      throw error;
    }
    return new FileOutput(handle, length);
  }

  get position(): number {
    return this.#position;
  }

  async write(data: Buffer): Promise<void> {
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.#handle.write(data, offset, data.length - offset, this.#position);
      offset += bytesWritten;
      this.#position += bytesWritten;
    }
  }

  async truncate(length: number): Promise<boolean> {
    await this.#handle.truncate(length);
    this.#position = length;
    return true;
  }

  async sync(): Promise<void> {
    await this.#handle.datasync();
  }

  async close(): Promise<void> {
    await this.#handle.close();
  }
}

/** A caller's stream (stdout, a socket): honours backpressure; cannot take bytes back. */
export class StreamOutput implements OutputTarget {
  readonly keepsData = true;
  readonly #stream: Writable;
  #position = 0;
  #failure: Error | undefined;
  readonly #onError = (error: Error) => {
    this.#failure ??= error;
  };

  constructor(stream: Writable) {
    this.#stream = stream;
    stream.on("error", this.#onError);
  }

  get position(): number {
    return this.#position;
  }

  async write(data: Buffer): Promise<void> {
    if (this.#failure) throw this.#failure;
    if (this.#stream.destroyed || this.#stream.writableEnded) {
      throw new ExportError(EXPORT_OUTPUT_FAILED, "The output stream was closed before the export finished.");
    }
    this.#position += data.length;
    if (!this.#stream.write(data)) {
      // `close` and `error` settle the wait too: a reader that went away (EPIPE) must not hang us.
      const ac = new AbortController();
      try {
        await Promise.race([
          once(this.#stream, "drain", { signal: ac.signal }),
          once(this.#stream, "close", { signal: ac.signal }),
          once(this.#stream, "error", { signal: ac.signal }).then(([error]) => {
            throw error;
          }),
        ]);
      } finally {
        ac.abort();
      }
      if (this.#failure) throw this.#failure;
    }
  }

  async truncate(): Promise<boolean> {
    return false;
  }

  async sync(): Promise<void> {
    if (this.#failure) throw this.#failure;
  }

  async close(): Promise<void> {
    this.#stream.off("error", this.#onError);
  }
}

const COPY_CHUNK = 256 * 1024;

/**
 * A course's rows while an earlier course still owns the output: a temp file, so memory does not
 * grow with how far ahead a course runs. Copied into the output when the course's turn comes.
 */
export class Spool {
  readonly path: string;
  #handle: FileHandle | undefined;
  #length = 0;

  constructor(path: string) {
    this.path = path;
  }

  get length(): number {
    return this.#length;
  }

  async append(data: Buffer): Promise<void> {
    this.#handle ??= await open(this.path, "w+", 0o600);
    let offset = 0;
    while (offset < data.length) {
      const { bytesWritten } = await this.#handle.write(data, offset, data.length - offset, this.#length);
      offset += bytesWritten;
      this.#length += bytesWritten;
    }
  }

  /**
   * Appends everything spooled so far to `output`, in bounded chunks. `buffer`, when given, is
   * the one chunk buffer for the whole copy (only for an output that is done with what it was
   * given once `write` resolves: a file); otherwise each chunk gets a fresh buffer.
   */
  async copyTo(output: OutputTarget, buffer?: Buffer): Promise<void> {
    if (!this.#handle || this.#length === 0) return;
    if (buffer && output.keepsData) throw new TypeError("copyTo: a stream output may keep the buffer");
    let position = 0;
    while (position < this.#length) {
      const size = Math.min(buffer?.length ?? COPY_CHUNK, this.#length - position);
      // A fresh buffer per chunk for a stream: it may still hold the previous one.
      const chunk = buffer ?? Buffer.allocUnsafe(size);
      const { bytesRead } = await this.#handle.read(chunk, 0, size, position);
      if (bytesRead === 0) {
        throw new ExportError(
          EXPORT_OUTPUT_FAILED,
          `Spool file ${this.path} is shorter than what was written.`,
        );
      }
      await output.write(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      position += bytesRead;
    }
  }

  async discard(): Promise<void> {
    const handle = this.#handle;
    this.#handle = undefined;
    this.#length = 0;
    if (handle) {
      await handle.close().catch(() => {});
      await unlink(this.path).catch(() => {});
    }
  }
}

/**
 * Writes a small file atomically with permissions `mode`: temp file in the same directory, then
 * rename over the target.
 */
export async function writeFileAtomic(path: string, text: string, mode: number): Promise<void> {
  const temp = `${path}.tmp`;
  await writeFile(temp, text, { mode });
  // A temp file left by a killed run keeps its old mode through writeFile.
  await chmod(temp, mode);
  await rename(temp, path);
}

/** Output, spool and checkpoint I/O failures become `EXPORT_OUTPUT_FAILED`. */
export async function wrapOutput<T>(section: () => Promise<T>): Promise<T> {
  try {
    return await section();
  } catch (error) {
    if (error instanceof ExportError) throw error;
    const reason = error instanceof Error ? error.message : String(error);
    throw new ExportError(EXPORT_OUTPUT_FAILED, `Writing the export failed: ${reason}`, { cause: error });
  }
}

/** Removes a file or directory tree, ignoring "not there". */
export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => {});
}
