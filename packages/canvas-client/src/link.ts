export type LinkRel = "current" | "next" | "prev" | "first" | "last";
export type PageLinks = Partial<Record<LinkRel, string>>;

const LINK_RE = /<([^>]*)>([^<]*)/g;
const REL_RE = /;\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,]+))/i;

/**
 * Parses an RFC 8288 `Link` header the way Canvas writes it
 * (`<url>; rel="current",<url>; rel="next"`, no space after the comma, `last` sometimes absent).
 * @see https://canvas.instructure.com/doc/api/file.pagination.html
 */
export function parseLinkHeader(header: string | undefined): PageLinks {
  const links: PageLinks = {};
  if (!header) return links;
  for (const match of header.matchAll(LINK_RE)) {
    const url = match[1]!.trim();
    const rel = REL_RE.exec(match[2] ?? "");
    if (!rel) continue;
    for (const name of (rel[1] ?? rel[2] ?? "").toLowerCase().split(/\s+/)) {
      if (name === "current" || name === "next" || name === "prev" || name === "first" || name === "last") {
        links[name] ??= url;
      }
    }
  }
  return links;
}
