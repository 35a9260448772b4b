/**
 * JSON text byte-identical to Python's `json.dumps(value)` with default arguments
 * (separators `", "` and `": "`, `ensure_ascii=True`, floats as `repr`), so a Redis value
 * decrypts to the same bytes the file store and Python jobs write. Any JSON still reads back.
 */
export function pythonJsonDumps(value: unknown): string {
  return encode(value, new Set());
}

function encode(value: unknown, parents: Set<object>): string {
  if (value === null) return "null";
  switch (typeof value) {
    case "boolean":
      return value ? "true" : "false";
    case "number":
      return pythonNumber(value);
    case "string":
      return pythonString(value);
    case "object":
      break;
    default:
      throw new TypeError(`Cannot encode a ${typeof value} as JSON.`);
  }
  if (parents.has(value)) throw new TypeError("Cannot encode a circular structure as JSON.");
  parents.add(value);
  try {
    if (Array.isArray(value)) {
      // As JSON.stringify does, a hole or an undefined entry becomes null.
      return `[${Array.from(value, (item) => (isSkipped(item) ? "null" : encode(item, parents))).join(", ")}]`;
    }
    const members: string[] = [];
    for (const [key, item] of Object.entries(value)) {
      if (!isSkipped(item)) members.push(`${pythonString(key)}: ${encode(item, parents)}`);
    }
    return `{${members.join(", ")}}`;
  } finally {
    parents.delete(value);
  }
}

function isSkipped(value: unknown): boolean {
  return value === undefined || typeof value === "function" || typeof value === "symbol";
}

const SHORT_ESCAPES: Readonly<Record<string, string>> = {
  '"': '\\"',
  "\\": "\\\\",
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

/** Python escapes everything outside printable ASCII (`[^ -~]`) as `\uxxxx`, per UTF-16 unit. */
function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const char = text[i]!;
    const short = SHORT_ESCAPES[char];
    if (short !== undefined) out += short;
    else if (unit >= 0x20 && unit <= 0x7e) out += char;
    else out += `\\u${unit.toString(16).padStart(4, "0")}`;
  }
  return `${out}"`;
}

/**
 * Python writes ints as digits and floats as `repr(float)`: the shortest round-tripping digits
 * (the same digits JavaScript picks), fixed notation while the decimal point sits within 16
 * digits, otherwise `1e-05` / `1e+16` style. An integral number below 1e16 is written as an int.
 */
function pythonNumber(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Number.POSITIVE_INFINITY) return "Infinity";
  if (n === Number.NEGATIVE_INFINITY) return "-Infinity";
  // Below 1e16 an integral double reads as a Python int; above, Python floats go exponential.
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return String(n);
  const [mantissa, exponentText] = n.toExponential().split("e") as [string, string];
  const negative = mantissa.startsWith("-");
  const digits = mantissa.replace("-", "").replace(".", "");
  const exponent = Number(exponentText);
  const pointAt = exponent + 1; // digits "d1d2..." mean 0.d1d2... x 10^pointAt
  let body: string;
  if (pointAt > -4 && pointAt <= 16) {
    if (pointAt <= 0) body = `0.${"0".repeat(-pointAt)}${digits}`;
    else if (pointAt >= digits.length) body = `${digits}${"0".repeat(pointAt - digits.length)}.0`;
    else body = `${digits.slice(0, pointAt)}.${digits.slice(pointAt)}`;
  } else {
    const fraction = digits.length > 1 ? `.${digits.slice(1)}` : "";
    const sign = exponent < 0 ? "-" : "+";
    body = `${digits[0]}${fraction}e${sign}${String(Math.abs(exponent)).padStart(2, "0")}`;
  }
  return negative ? `-${body}` : body;
}
