import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { Writable } from "node:stream";
import { tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { FileOutput, Spool, StreamOutput } from "../src/io.js";

/** A stream that keeps every buffer it is given without copying it (as a slow socket's queue does). */
function keepingStream(): { stream: Writable; bytes: () => Buffer } {
  const kept: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      kept.push(chunk);
      callback();
    },
  });
  return { stream, bytes: () => Buffer.concat(kept) };
}

/** 600 KiB of text that differs in every line, so a reused buffer would show. */
function text(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 12_000; i++) lines.push(`${String(i).padStart(8, "0")} ${"x".repeat(40)}\n`);
  return Buffer.from(lines.join(""), "utf8");
}

describe("spool copies (several chunks)", () => {
  it("into a file reuse one chunk buffer; into a stream that keeps chunks, a fresh buffer each", async () => {
    const dir = tempDir("easel-export-test-");
    const data = text();
    expect(data.length).toBeGreaterThan(2 * 256 * 1024);

    const spool = new Spool(join(dir, "course-1.part"));
    // Appended in pieces, as a course's flushes do.
    for (let offset = 0; offset < data.length; offset += 100_000) {
      await spool.append(data.subarray(offset, offset + 100_000));
    }
    expect(spool.length).toBe(data.length);

    const file = await FileOutput.create(join(dir, "out.ndjson"), 0o600);
    expect(file.keepsData).toBe(false);
    // One 100,000-byte buffer for the whole copy: seven chunks through it.
    await spool.copyTo(file, Buffer.alloc(100_000));
    await file.close();
    expect((await readFile(join(dir, "out.ndjson"))).equals(data)).toBe(true);

    const { stream, bytes } = keepingStream();
    const output = new StreamOutput(stream);
    expect(output.keepsData).toBe(true);
    await expect(spool.copyTo(output, Buffer.alloc(100_000))).rejects.toThrow(/may keep the buffer/);
    await spool.copyTo(output);
    expect(bytes().equals(data)).toBe(true);
    await spool.discard();
  });
});
