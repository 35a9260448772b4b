import { invalidArg } from "./errors.js";

/** One cell: what Canvas gave, flattened. `null` is "no value" (empty in CSV, `null` in NDJSON). */
export type CellValue = string | number | boolean | null;

/** One exported row: keys are the kind's columns, in column order. */
export type Row = Readonly<Record<string, CellValue>>;

/** The output formats. */
export const EXPORT_FORMATS = ["csv", "ndjson"] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/**
 * Turns rows into text, one line per row. Pure and synchronous: the export engine decides where
 * the text goes (a file, a spool file, stdout), and other consumers (tests, a database loader)
 * can reuse it.
 */
export interface RowSerializer {
  readonly format: ExportFormat;
  readonly columns: readonly string[];
  /** Text written once at the start of the output: the CSV header row, nothing for NDJSON. */
  header(): string;
  /** One row, including its line ending. */
  line(row: Row): string;
}

/** CSV line ending: CRLF, as RFC 4180 §2 specifies (Excel, Python's csv and every CSV parser read it). */
export const CSV_LINE_ENDING = "\r\n";

const NEEDS_QUOTES = /[",\r\n]/;

/**
 * Quotes one CSV field per RFC 4180 §2: a field containing a comma, a double quote, CR or LF is
 * enclosed in double quotes and its double quotes are doubled; anything else is written as is
 * (leading/trailing spaces and non-Latin text included). `null` is the empty field.
 *
 * @example quoteCsvField('Smith, "Jo"') // => '"Smith, ""Jo"""'
 * @see https://www.rfc-editor.org/rfc/rfc4180#section-2
 */
export function quoteCsvField(value: CellValue | undefined): string {
  if (value === null || value === undefined) return "";
  const text = typeof value === "string" ? value : cellText(value);
  if (!NEEDS_QUOTES.test(text)) return text;
  return `"${text.replaceAll('"', '""')}"`;
}

function cellText(value: number | boolean): string {
  if (typeof value === "boolean") return value ? "true" : "false";
  // JSON has no NaN/Infinity; keep both formats saying the same thing.
  return Number.isFinite(value) ? String(value) : "";
}

function checkColumns(columns: readonly string[]): readonly string[] {
  if (!Array.isArray(columns) || columns.length === 0 || columns.some((c) => typeof c !== "string" || !c)) {
    throw invalidArg("columns", columns, "must be a non-empty array of column names");
  }
  if (new Set(columns).size !== columns.length) {
    throw invalidArg("columns", columns, "must not repeat a column name");
  }
  return Object.freeze([...columns]);
}

/**
 * CSV per RFC 4180: UTF-8 (no BOM), a header row of the column names, CRLF after every line
 * (the last included), fields quoted only when they must be. `null` and missing cells are empty;
 * booleans are `true`/`false`. A row's extra keys are ignored: the columns decide.
 *
 * @example
 * const csv = createCsvWriter(["user_id", "name"]);
 * csv.header() + csv.line({ user_id: 1, name: "Nguyễn, An" }) // 'user_id,name\r\n1,"Nguyễn, An"\r\n'
 */
export function createCsvWriter(columns: readonly string[]): RowSerializer {
  const cols = checkColumns(columns);
  const header = cols.map(quoteCsvField).join(",") + CSV_LINE_ENDING;
  return {
    format: "csv",
    columns: cols,
    header: () => header,
    line(row) {
      let out = "";
      for (let i = 0; i < cols.length; i++) {
        if (i > 0) out += ",";
        out += quoteCsvField(row[cols[i]!]);
      }
      return out + CSV_LINE_ENDING;
    },
  };
}

/**
 * NDJSON: one JSON object per line (LF), with exactly the CSV columns as keys, in column order;
 * missing cells and non-finite numbers are `null`. No header.
 *
 * @example createNdjsonWriter(["user_id"]).line({ user_id: 1 }) // '{"user_id":1}\n'
 * @see https://github.com/ndjson/ndjson-spec
 */
export function createNdjsonWriter(columns: readonly string[]): RowSerializer {
  const cols = checkColumns(columns);
  // Pre-encoded keys: a row is built by concatenation, not by allocating an ordered object.
  const keys = cols.map((c, i) => `${i === 0 ? "{" : ","}${JSON.stringify(c)}:`);
  return {
    format: "ndjson",
    columns: cols,
    header: () => "",
    line(row) {
      let out = "";
      for (let i = 0; i < cols.length; i++) {
        const value = row[cols[i]!];
        out += keys[i]! + jsonCell(value);
      }
      return out + "}\n";
    },
  };
}

function jsonCell(value: CellValue | undefined): string {
  if (value === null || value === undefined) return "null";
  if (typeof value === "number") return Number.isFinite(value) ? String(value) : "null";
  if (typeof value === "boolean") return value ? "true" : "false";
  return JSON.stringify(value);
}

/** The serializer of a format. */
export function createRowSerializer(format: ExportFormat, columns: readonly string[]): RowSerializer {
  if (format === "csv") return createCsvWriter(columns);
  if (format === "ndjson") return createNdjsonWriter(columns);
  throw invalidArg("format", format, `must be one of ${EXPORT_FORMATS.join(", ")}`);
}
