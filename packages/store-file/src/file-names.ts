import { createHash } from "node:crypto";

/** File name extension of a record in a `file:DIR/` store. */
export const RECORD_EXTENSION = ".enc";

/**
 * The file name of `key` in a `file:DIR/` store: `<readable>.<hash>.enc`.
 *
 * - `<readable>` is the key with every run of characters outside `[A-Za-z0-9_-]` replaced by
 *   `_`, cut to 40 characters, so `ls` shows which key a file holds; it cannot contain `/`,
 *   `.` or `..`, and never starts with `-`.
 * - `<hash>` is the first 24 hex digits (96 bits) of the key's SHA-256, so distinct keys get
 *   distinct files even when their readable parts agree, or differ only in case on a
 *   case-insensitive file system.
 *
 * @example fileNameForKey("default") // "default.37a8eec1ce19687d132fe290.enc"
 */
export function fileNameForKey(key: string): string {
  const readable =
    key
      .replace(/[^A-Za-z0-9_-]+/g, "_")
      .slice(0, 40)
      .replace(/^-/, "_") || "key";
  const hash = createHash("sha256").update(key, "utf8").digest("hex").slice(0, 24);
  return `${readable}.${hash}${RECORD_EXTENSION}`;
}
