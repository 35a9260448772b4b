/**
 * Request parameters the way Rails sees them, kept flat: `include[]`, `token[purpose]`,
 * `grade_data[12][posted_grade]`. Query string, form bodies and JSON bodies all land here, JSON
 * objects flattened to the same bracket keys.
 */
export class Params {
  readonly #values = new Map<string, string[]>();

  add(key: string, value: string): void {
    const list = this.#values.get(key);
    if (list) list.push(value);
    else this.#values.set(key, [value]);
  }

  /** The last value of `key` (Rails keeps the last of repeated scalars). */
  get(key: string): string | undefined {
    const list = this.#values.get(key);
    return list ? list[list.length - 1] : undefined;
  }

  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Values of `key[]` and of a bare `key` (Canvas's `Array(params[:key])`). */
  getAll(key: string): string[] {
    const arrayValues = this.#values.get(`${key}[]`);
    const bare = this.#values.get(key);
    if (arrayValues && bare) return [...arrayValues, ...bare];
    return arrayValues ?? bare ?? [];
  }

  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  /** Merges `application/x-www-form-urlencoded` or query text. */
  addEncoded(text: string, into?: Array<[string, string]>): void {
    if (text === "") return;
    for (const [key, value] of new URLSearchParams(text)) {
      this.add(key, value);
      into?.push([key, value]);
    }
  }

  /**
   * Merges the text fields of a `multipart/form-data` body (`curl -F`, as Canvas's docs use); file
   * parts are ignored.
   */
  addMultipart(text: string, boundary: string): void {
    for (const part of text.split(`--${boundary}`)) {
      const headerEnd = part.indexOf("\r\n\r\n");
      if (headerEnd === -1) continue;
      const head = part.slice(0, headerEnd);
      const name = /name="([^"]*)"/i.exec(head)?.[1];
      if (name === undefined || /filename=/i.test(head)) continue;
      this.add(name, part.slice(headerEnd + 4).replace(/\r\n$/, ""));
    }
  }

  /** Merges a parsed JSON body, flattening nested objects to bracket keys. */
  addJson(value: unknown, prefix = ""): void {
    if (value === null || value === undefined) {
      if (prefix) this.add(prefix, "");
      return;
    }
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        if (item !== null && typeof item === "object") this.addJson(item, `${prefix}[${index}]`);
        else this.addJson(item, `${prefix}[]`);
      });
      return;
    }
    if (typeof value === "object") {
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) {
        this.addJson(item, prefix ? `${prefix}[${key}]` : key);
      }
      return;
    }
    if (prefix) this.add(prefix, String(value));
  }
}

/** Rails' `value_to_boolean`. */
export function truthy(value: string | undefined): boolean {
  if (value === undefined) return false;
  return ["1", "true", "t", "yes", "y", "on"].includes(value.trim().toLowerCase());
}
