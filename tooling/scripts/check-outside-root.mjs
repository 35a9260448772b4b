// A clone must work alone: no tracked file may refer to a path above the repository root. Catches
//  - relative paths that climb out of the root from the file's own directory, which is what imports,
//    `new URL(..., import.meta.url)`, Markdown links, tsconfig `extends` and `$(dirname "$0")/..`
//    resolve against (a README linking a directory beside the clone, a test opening fixtures four
//    levels up from packages/NAME/test);
//  - absolute paths into a top-level directory of this machine that is not the operating system's,
//    or into the directory that holds the clone.
// Examples are left out of this comment on purpose: they would be references themselves.
// Usage: node tooling/scripts/check-outside-root.mjs [ROOT]   (default: this repository)
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, posix, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("../..", import.meta.url)));

/** Generated files whose relative paths are not relative to their own directory. */
const SKIP = new Set(["pnpm-lock.yaml"]);

/** Top-level directories a path may name: the operating system's, never a checkout's neighbours. */
const SYSTEM_DIRS = new Set([
  ..."bin boot dev etc home lib lib32 lib64 libx32 media mnt nix opt proc root run sbin srv sys tmp usr var".split(
    " ",
  ),
  ..."Applications Library System Users Volumes cores private".split(" "), // macOS
]);

// A relative path: one or more `..` segments at the start of a token (or right after `)/` or `}/`,
// as in `$(dirname "$0")/..`, which is the file's own directory in a script).
const RELATIVE = /(?:(?<![\w./~$@-])|(?<=[)}]\/))((?:\.\.?\/)*\.\.(?![.\w-])(?:\/[^\s"'`<>()[\]{},;|*?]*)?)/g;
// An absolute path: a `/` that does not follow a word, a dot or another `/` (so not a URL's path).
const ABSOLUTE = /(?<![\w./~$@:)}-])\/([A-Za-z_][\w.-]*)(?:\/[^\s"'`<>()[\]{},;|*?]*)?/g;

const topLevel = new Set(readdirSync("/"));
const parentOfRoot = dirname(root);

function trackedFiles() {
  const out = execFileSync("git", ["ls-files", "-z", "--cached", "--others", "--exclude-standard"], {
    cwd: root,
    encoding: "utf8",
  });
  return out.split("\0").filter((file) => file && !SKIP.has(posix.basename(file)));
}

/** Every reference in `text` (of the file at `file`, relative to the root) that leaves the root. */
export function outsideReferences(file, text) {
  const found = [];
  const dir = posix.dirname(file);
  const lines = text.split("\n");
  for (const [index, line] of lines.entries()) {
    for (const match of line.matchAll(RELATIVE)) {
      const target = posix.normalize(posix.join(dir, match[1]));
      if (target === ".." || target.startsWith("../")) found.push({ line: index + 1, ref: match[1] });
    }
    for (const match of line.matchAll(ABSOLUTE)) {
      const path = match[0];
      const intoNeighbour =
        path.startsWith(parentOfRoot + sep) && !path.startsWith(root + sep) && path !== root;
      const intoMachine =
        topLevel.has(match[1]) && !SYSTEM_DIRS.has(match[1]) && !path.startsWith(root + sep);
      if (intoNeighbour || intoMachine) found.push({ line: index + 1, ref: path });
    }
  }
  return found;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const problems = [];
  for (const file of trackedFiles()) {
    const path = resolve(root, file);
    if (!existsSync(path)) continue; // deleted in the working tree, not yet committed
    const bytes = readFileSync(path);
    if (bytes.includes(0)) continue; // binary
    for (const { line, ref } of outsideReferences(file, bytes.toString("utf8"))) {
      problems.push(`${file}:${line}: ${ref}`);
    }
  }
  if (problems.length > 0) {
    console.error(
      `files refer to paths outside the repository (a clone has nothing beside it; copy what is needed in):\n  ${problems.join("\n  ")}`,
    );
    process.exit(1);
  }
  console.log("outside-root references: none");
}
