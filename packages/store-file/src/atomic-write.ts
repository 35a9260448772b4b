import { constants } from "node:fs";
import { open, rename, unlink } from "node:fs/promises";
import { dirname } from "node:path";
import { scratchPath } from "./scratch.js";

/**
 * Replaces `path` with `content` so that every reader, and the file after a crash at any
 * moment, sees either the old content or the new, never a mix: write a private temp file in
 * the same directory, fsync it, rename it over `path`, fsync the directory.
 */
export async function writeFileAtomic(path: string, content: string): Promise<void> {
  const temp = scratchPath(path, "tmp");
  try {
    const handle = await open(temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      // The umask may have removed bits; 0600 exactly is what we promise.
      await handle.chmod(0o600);
      await handle.writeFile(content, "utf8");
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw error;
  }
  await fsyncDirectory(dirname(path));
}

/** Makes a rename or unlink in `dir` durable. Not every platform can fsync a directory. */
export async function fsyncDirectory(dir: string): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(dir, constants.O_RDONLY);
    await handle.sync();
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}
