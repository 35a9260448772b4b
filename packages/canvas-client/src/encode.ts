/**
 * A value Canvas (Rails/Rack) can read from a query string or a form body. Arrays become
 * `key[]=a&key[]=b`, objects become `key[sub]=v` (nested: `grade_data[5][posted_grade]=A`),
 * `undefined` and `null` are left out, dates become ISO 8601.
 */
export type ParamValue =
  | string
  | number
  | boolean
  | Date
  | null
  | undefined
  | readonly ParamValue[]
  | { readonly [key: string]: ParamValue };

export type Params = { readonly [key: string]: ParamValue };

// Rack reads raw brackets and %5B%5D alike; raw ones keep long student_ids[] URLs shorter.
function encodeKey(key: string): string {
  return encodeURIComponent(key).replace(/%5B/gi, "[").replace(/%5D/gi, "]");
}

function scalar(value: string | number | boolean | Date): string {
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

function isPlainObject(value: unknown): value is { readonly [key: string]: ParamValue } {
  return typeof value === "object" && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function appendPairs(out: string[], key: string, value: ParamValue): void {
  if (value === undefined || value === null) return;
  if (Array.isArray(value)) {
    for (const item of value as readonly ParamValue[]) {
      // Canvas has no array-of-objects parameters we use; nested arrays flatten to key[][].
      appendPairs(out, `${key}[]`, item);
    }
    return;
  }
  if (isPlainObject(value)) {
    for (const [sub, inner] of Object.entries(value)) appendPairs(out, `${key}[${sub}]`, inner);
    return;
  }
  out.push(`${encodeKey(key)}=${encodeURIComponent(scalar(value as string | number | boolean | Date))}`);
}

/** `{ student_ids: [1, 2], grouped: true }` → `student_ids[]=1&student_ids[]=2&grouped=true`. */
export function encodeParams(params: Params | undefined): string {
  if (!params) return "";
  const out: string[] = [];
  for (const [key, value] of Object.entries(params)) appendPairs(out, key, value);
  return out.join("&");
}

/** Length in bytes of one `key[]=value` pair as `encodeParams` writes it (plus its `&`). */
export function encodedPairLength(key: string, value: string | number): number {
  return encodeKey(key).length + 1 + encodeURIComponent(String(value)).length + 1;
}
