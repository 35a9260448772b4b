import { json, type Reply, rawJson } from "../http/reply.js";
import { linkHeader, ordinalLinks, pageNumberOf, perPageOf } from "../pagination.js";
import type { RequestContext } from "../runtime.js";

/** The collection URL for Link headers: the request path without a trailing slash. */
export function collectionUrl(ctx: RequestContext): string {
  const path = ctx.path.length > 1 && ctx.path.endsWith("/") ? ctx.path.slice(0, -1) : ctx.path;
  return `${ctx.base}${path}`;
}

/**
 * A numeric-page collection of known size (`Api.paginate` with a count): rows [start, end) are
 * rendered lazily, so a page costs O(per_page) whatever the collection's size.
 */
export function ordinalPage(
  ctx: RequestContext,
  total: number,
  render: (start: number, end: number) => unknown[],
  options: { omitLast?: boolean } = {},
): Reply {
  const { start, end, link } = ordinalWindow(ctx, total, options);
  const rows = start < total ? render(start, end) : [];
  return json(200, rows, { Link: link }, rows.length);
}

/** `ordinalPage` for rows already serialised to JSON text (the hot submission paths). */
export function ordinalPageText(
  ctx: RequestContext,
  total: number,
  render: (start: number, end: number) => string[],
): Reply {
  const { start, end, link } = ordinalWindow(ctx, total, {});
  const rows = start < total ? render(start, end) : [];
  return rawJson(200, `[${rows.join(",")}]`, { Link: link }, rows.length);
}

function ordinalWindow(ctx: RequestContext, total: number, options: { omitLast?: boolean }) {
  const perPage = perPageOf(ctx.params);
  const page = pageNumberOf(ctx.params);
  const start = (page - 1) * perPage;
  const end = Math.min(total, start + perPage);
  const links = ordinalLinks(page, perPage, total);
  if (options.omitLast) links.last = undefined;
  return { start, end, link: linkHeader(collectionUrl(ctx), ctx.queryPairs, links, perPage) };
}

/** Canvas's `include[]` as a set. */
export function includes(ctx: RequestContext): Set<string> {
  return new Set(ctx.params.getAll("include"));
}
