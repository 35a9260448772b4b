import type { Plugin } from "graphql-yoga";
import { CSRF_HEADER_REQUIRED, errorResponse } from "../errors.js";
import { wantsGraphiQL } from "./use-graphiql.js";

/** The header that marks a request as sent by script, as graphql-yoga's CSRF prevention names it. */
export const CSRF_HEADER = "x-graphql-yoga-csrf";

/**
 * The content types a page on another origin may send without a CORS preflight (an HTML form,
 * or `fetch` in `no-cors` mode): the Fetch standard's CORS-safelisted `Content-Type` values.
 */
const SIMPLE_CONTENT_TYPES = new Set([
  "application/x-www-form-urlencoded",
  "multipart/form-data",
  "text/plain",
]);

/** True when a browser could have sent this request cross-origin without asking (no preflight). */
function couldBeCrossSite(request: Request): boolean {
  if (request.headers.has(CSRF_HEADER)) return false;
  const contentType = request.headers.get("content-type");
  if (contentType === null) return true;
  const essence = contentType.split(";")[0]!.trim().toLowerCase();
  return essence === "" || SIMPLE_CONTENT_TYPES.has(essence);
}

/**
 * User mode: the session is a cookie, which the browser attaches to a form post from any page
 * of the same site (SameSite=Lax stops only other sites), so a GraphQL request must prove it
 * was sent by script: a JSON (or other non-form) content type, which from another origin
 * needs a CORS preflight the gateway answers only for `corsOrigins`, or the
 * `x-graphql-yoga-csrf` header, which a form cannot set. Else 403 `CSRF_HEADER_REQUIRED`,
 * before the session is even looked at. GET requests carry no content type, so they need the
 * header (Yoga already refuses mutations over GET). Placed after the session check: a request
 * without a session gets its 401 as before.
 *
 * The same rule as `@graphql-yoga/plugin-csrf-prevention`, applied here instead because it
 * must answer with the gateway's error shape and code, and only in user mode: API keys in
 * service mode are headers, which a form cannot send either.
 */
export function useCsrfGuard(graphqlEndpoint: string, options: { graphiql: boolean }): Plugin {
  return {
    onRequest({ request, endResponse }) {
      // The GraphiQL page is a navigation and runs nothing; without GraphiQL, Yoga would run it.
      if (request.method === "OPTIONS" || (options.graphiql && wantsGraphiQL(request))) return;
      if (new URL(request.url).pathname !== graphqlEndpoint) return;
      if (!couldBeCrossSite(request)) return;
      endResponse(
        errorResponse(
          403,
          CSRF_HEADER_REQUIRED,
          `Send GraphQL as JSON (content-type: application/json) or with the ${CSRF_HEADER} header.`,
        ),
      );
    },
  };
}
