import { parse } from "csv-parse/sync";
import { describe, expect, it } from "vitest";
import { createCsvWriter, createNdjsonWriter, createRowSerializer, quoteCsvField } from "../src/index.js";

describe("quoteCsvField (RFC 4180 §2)", () => {
  it("leaves plain fields, spaces and non-Latin text unquoted", () => {
    expect(quoteCsvField("Ada Lovelace")).toBe("Ada Lovelace");
    expect(quoteCsvField("  padded ")).toBe("  padded ");
    expect(quoteCsvField("王 秀英")).toBe("王 秀英");
    expect(quoteCsvField("Σωκράτης Παπαδόπουλος")).toBe("Σωκράτης Παπαδόπουλος");
    expect(quoteCsvField("")).toBe("");
  });

  it("quotes fields with a comma, a quote, CR or LF, doubling quotes", () => {
    expect(quoteCsvField("Smith, Jo")).toBe('"Smith, Jo"');
    expect(quoteCsvField('Jo "JJ" Smith')).toBe('"Jo ""JJ"" Smith"');
    expect(quoteCsvField('"')).toBe('""""');
    expect(quoteCsvField("line1\nline2")).toBe('"line1\nline2"');
    expect(quoteCsvField("a\r\nb")).toBe('"a\r\nb"');
    expect(quoteCsvField("cr\ronly")).toBe('"cr\ronly"');
    expect(quoteCsvField('Lee, "Bo"\nII')).toBe('"Lee, ""Bo""\nII"');
  });

  it("writes null as the empty field and numbers/booleans in JSON's spelling", () => {
    expect(quoteCsvField(null)).toBe("");
    expect(quoteCsvField(undefined)).toBe("");
    expect(quoteCsvField(0)).toBe("0");
    expect(quoteCsvField(-0)).toBe("0");
    expect(quoteCsvField(85.5)).toBe("85.5");
    expect(quoteCsvField(1e21)).toBe("1e+21");
    expect(quoteCsvField(Number.NaN)).toBe("");
    expect(quoteCsvField(true)).toBe("true");
    expect(quoteCsvField(false)).toBe("false");
  });
});

const COLUMNS = ["user_id", "name", "score", "late", "note"];
const TRICKY_ROWS = [
  { user_id: 1, name: "Plain Name", score: 90, late: false, note: null },
  { user_id: 2, name: "O'Brien, Siobhán", score: 77.25, late: true, note: "" },
  { user_id: 3, name: 'José "Pepe" García', score: null, late: false, note: 'said "hi"\r\nthen left' },
  { user_id: 4, name: "王秀英", score: 0, late: false, note: "line one\nline two" },
  { user_id: 5, name: "Müller, Jürgen, Jr.", score: 100, late: false, note: ",,," },
  { user_id: 6, name: "Ελένη 😀", score: -1.5, late: true, note: '"' },
];

describe("createCsvWriter", () => {
  it("writes a header and CRLF-terminated rows in column order, ignoring extra keys", () => {
    const csv = createCsvWriter(["b", "a"]);
    expect(csv.header()).toBe("b,a\r\n");
    expect(csv.line({ a: 1, b: "x", extra: "ignored" })).toBe("x,1\r\n");
    expect(csv.line({})).toBe(",\r\n");
  });

  it("round-trips tricky names through an independent RFC 4180 parser (csv-parse)", () => {
    const csv = createCsvWriter(COLUMNS);
    const text = csv.header() + TRICKY_ROWS.map((row) => csv.line(row)).join("");
    const parsed = parse(text, { columns: true, relax_quotes: false, record_delimiter: "\r\n" }) as Array<
      Record<string, string>
    >;
    expect(parsed).toHaveLength(TRICKY_ROWS.length);
    const asText = (value: unknown) => (value === null ? "" : String(value));
    expect(parsed).toEqual(
      TRICKY_ROWS.map((row) =>
        Object.fromEntries(COLUMNS.map((c) => [c, asText(row[c as keyof typeof row])])),
      ),
    );
  });

  it("refuses empty or repeated column lists", () => {
    expect(() => createCsvWriter([])).toThrow(TypeError);
    expect(() => createCsvWriter(["a", "a"])).toThrow(/repeat/);
    expect(() => createRowSerializer("xml" as never, ["a"])).toThrow(/format/);
  });
});

describe("createNdjsonWriter", () => {
  it("writes one JSON object per line with exactly the columns, in order, null for missing", () => {
    const nd = createNdjsonWriter(COLUMNS);
    expect(nd.header()).toBe("");
    for (const row of TRICKY_ROWS) {
      const line = nd.line(row);
      expect(line.endsWith("}\n")).toBe(true);
      expect(line.slice(0, -1)).not.toContain("\n");
      const back = JSON.parse(line) as Record<string, unknown>;
      expect(Object.keys(back)).toEqual(COLUMNS);
      expect(back).toEqual(row);
    }
    expect(JSON.parse(nd.line({ user_id: 9 }))).toEqual({
      user_id: 9,
      name: null,
      score: null,
      late: null,
      note: null,
    });
    expect(JSON.parse(nd.line({ user_id: Number.POSITIVE_INFINITY }))).toMatchObject({ user_id: null });
  });
});
