const OPEN = new Set(["{", "[", "("]);
const CLOSE = new Set(["}", "]", ")"]);

/**
 * True when `source` opens more than `limit` brackets (`{`, `[`, `(`) at once, counted outside
 * strings, block strings and comments. One linear pass that stops at the first level past the
 * limit: it runs before the parser, whose recursion per level is what a hostile document
 * (`[[[[...]]]]` 2,500 deep in 10 KB) turns into a stack overflow. Brackets need not match:
 * an unbalanced document is the parser's to report.
 */
export function nestsDeeperThan(source: string, limit: number): boolean {
  let depth = 0;
  let i = 0;
  const length = source.length;
  while (i < length) {
    const char = source[i]!;
    if (OPEN.has(char)) {
      depth += 1;
      if (depth > limit) return true;
      i += 1;
    } else if (CLOSE.has(char)) {
      if (depth > 0) depth -= 1;
      i += 1;
    } else if (char === "#") {
      while (i < length && source[i] !== "\n" && source[i] !== "\r") i += 1;
    } else if (char === '"') {
      i = source.startsWith('"""', i) ? afterBlockString(source, i + 3) : afterString(source, i + 1);
    } else {
      i += 1;
    }
  }
  return false;
}

/** The index after a `"..."` string's closing quote (or its line's end: the parser will complain). */
function afterString(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    const char = source[i]!;
    if (char === "\\") i += 2;
    else if (char === '"') return i + 1;
    else if (char === "\n" || char === "\r") return i;
    else i += 1;
  }
  return i;
}

/** The index after a `"""..."""` block string (`\"""` is an escaped quote triple inside it). */
function afterBlockString(source: string, from: number): number {
  let i = from;
  while (i < source.length) {
    if (source.startsWith('\\"""', i)) i += 4;
    else if (source.startsWith('"""', i)) return i + 3;
    else i += 1;
  }
  return i;
}
