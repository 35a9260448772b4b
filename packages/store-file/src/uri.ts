import { homedir } from "node:os";
import { resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { InvalidArgumentError } from "@easel/token-store";

export interface FileStoreLocation {
  /** Absolute path of the record file, or of the directory holding one file per key. */
  path: string;
  /** True for `file:DIR/` (one file per key), false for `file:PATH` (one record). */
  directory: boolean;
}

/**
 * Reads a `file:` store URI. `file:PATH` is one record in one file; a trailing slash
 * (`file:DIR/`) means one file per key. `file:///abs/path` URLs and a leading `~/` work too;
 * a relative PATH is resolved against the working directory. The path is taken literally
 * (no percent-decoding) except in the `file://` URL form.
 */
export function parseFileStoreUri(uri: string): FileStoreLocation {
  if (typeof uri !== "string" || !uri.startsWith("file:")) {
    throw invalidArg(
      `A file store URI starts with "file:" (file:PATH or file:DIR/); received "${String(uri)}".`,
    );
  }
  const rest = uri.slice("file:".length);
  if (rest === "" || rest === "//") {
    throw invalidArg(
      `A file store URI needs a path: "file:PATH" (one record) or "file:DIR/" (one file per key); received "${uri}".`,
    );
  }
  const directory = rest.endsWith("/") || rest.endsWith(sep);
  if (rest.startsWith("//")) {
    try {
      return { path: fileURLToPath(uri), directory };
    } catch (cause) {
      throw invalidArg(`"${uri}" is not a valid file:// URL.`, cause);
    }
  }
  const expanded = rest === "~" || rest.startsWith("~/") ? homedir() + rest.slice(1) : rest;
  return { path: resolve(expanded), directory };
}

/** The workspace's bad-argument error (`TypeError`, `ERR_INVALID_ARG_VALUE`). */
export function invalidArg(message: string, cause?: unknown): InvalidArgumentError {
  return new InvalidArgumentError(message, { cause });
}
