import type { Params } from "./http/params.js";

/** canvas:lib/api.rb `PER_PAGE` and `MAX_PER_PAGE`. */
export const DEFAULT_PER_PAGE = 10;
export const MAX_PER_PAGE = 100;

/** `per_page_for`: Ruby's `to_i` then `clamp(1, max)`. */
export function perPageOf(params: Params, max = MAX_PER_PAGE): number {
  const raw = params.get("per_page");
  const parsed = raw === undefined ? DEFAULT_PER_PAGE : Number.parseInt(raw, 10);
  const value = Number.isNaN(parsed) ? 0 : parsed;
  return Math.min(max, Math.max(1, value));
}

/** A numeric page (Ruby `to_i`, at least 1). */
export function pageNumberOf(params: Params): number {
  const parsed = Number.parseInt(params.get("page") ?? "1", 10);
  return Number.isNaN(parsed) || parsed < 1 ? 1 : parsed;
}

/** Params never echoed into Link URLs (`EXCLUDE_IN_PAGINATION_LINKS`). */
const EXCLUDED = new Set(["page", "per_page", "access_token", "api_key"]);

/** Ruby's `CGI.escape`: unreserved `a-zA-Z0-9_.-~`, space as `+`. */
export function cgiEscape(text: string): string {
  return encodeURIComponent(text)
    .replace(/[!'()*]/g, (char) => `%${char.charCodeAt(0).toString(16).toUpperCase()}`)
    .replace(/%20/g, "+");
}

/**
 * The original query as Rails' `to_query` re-encodes it: grouped by top-level key, each group's
 * pairs in order, groups sorted, `[` `]` escaped.
 */
export function canonicalQuery(pairs: ReadonlyArray<readonly [string, string]>): string {
  const groups = new Map<string, string[]>();
  for (const [key, value] of pairs) {
    if (EXCLUDED.has(key)) continue;
    const top = key.includes("[") ? key.slice(0, key.indexOf("[")) : key;
    const encoded = `${cgiEscape(key)}=${cgiEscape(value)}`;
    const list = groups.get(top);
    if (!list) groups.set(top, [encoded]);
    else if (key.endsWith("]")) list.push(encoded);
    else list[0] = encoded; // a repeated scalar: Rails keeps the last
  }
  return [...groups.values()]
    .map((list) => list.join("&"))
    .sort()
    .join("&");
}

export interface PageLinks {
  current: string;
  next?: string;
  prev?: string;
  first: string;
  last?: string;
}

/**
 * The `Link` header: absolute URLs, original params then `page=X&per_page=N`, rels in the order
 * current, next, prev, first, last, joined by "," with no space (canvas:lib/api.rb `build_links`).
 */
export function linkHeader(
  baseUrl: string,
  pairs: ReadonlyArray<readonly [string, string]>,
  links: PageLinks,
  perPage: number,
): string {
  const query = canonicalQuery(pairs);
  const prefix = `${baseUrl}?${query ? `${query}&` : ""}page=`;
  const suffix = `&per_page=${perPage}>; rel=`;
  let header = `<${prefix}${links.current}${suffix}"current"`;
  if (links.next !== undefined) header += `,<${prefix}${links.next}${suffix}"next"`;
  if (links.prev !== undefined) header += `,<${prefix}${links.prev}${suffix}"prev"`;
  header += `,<${prefix}${links.first}${suffix}"first"`;
  if (links.last !== undefined) header += `,<${prefix}${links.last}${suffix}"last"`;
  return header;
}

/** Links of an ordinal (numeric-page) collection whose size is known. */
export function ordinalLinks(page: number, perPage: number, total: number): PageLinks {
  const lastPage = Math.max(1, Math.ceil(total / perPage));
  return {
    current: String(page),
    next: page < lastPage ? String(page + 1) : undefined,
    prev: page > 1 ? String(page - 1) : undefined,
    first: "1",
    last: String(lastPage),
  };
}

/** `bookmark:` + base64url(JSON) without padding (canvas:lib/json_token.rb `JSONToken.encode`). */
export function encodeBookmark(value: unknown): string {
  return `bookmark:${Buffer.from(JSON.stringify(value)).toString("base64url")}`;
}

/** The decoded bookmark of a `page` value, or undefined for the first page or a bad value. */
export function decodeBookmark(page: string | undefined): unknown {
  if (page === undefined || !page.startsWith("bookmark:")) return undefined;
  try {
    return JSON.parse(Buffer.from(page.slice("bookmark:".length), "base64url").toString("utf8"));
  } catch {
    return undefined;
  }
}
