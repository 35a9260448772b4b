import type { Plugin } from "graphql-yoga";

/** True for a browser asking for the GraphiQL page (GET, HTML accepted). */
export function wantsGraphiQL(request: Request): boolean {
  return request.method === "GET" && (request.headers.get("accept") ?? "").includes("text/html");
}

/**
 * GraphiQL on GET `graphqlEndpoint`, from `@graphql-yoga/render-graphiql`: the whole UI is
 * inlined, so it works offline and loads nothing from a CDN. Placed after the session plugin
 * (user mode redirects to login first) and before API-key auth (the page itself holds no data;
 * its requests carry the key in the headers editor). `prefillHeaders` (the demo's own key) fill
 * that editor and are not persisted in the browser, so a key of an earlier run never replaces them.
 */
export function useGraphiQL(
  graphqlEndpoint: string,
  options: {
    title: string;
    defaultQuery?: string | undefined;
    prefillHeaders?: Readonly<Record<string, string>> | undefined;
  },
): Plugin {
  let html: Promise<string> | undefined;
  const render = async () => {
    // Lazy: the bundle is ~9 MB of JavaScript; a gateway without GraphiQL never loads it.
    const { renderGraphiQL } = await import("@graphql-yoga/render-graphiql");
    return String(
      renderGraphiQL({
        title: options.title,
        endpoint: graphqlEndpoint,
        defaultQuery: options.defaultQuery,
        credentials: "same-origin",
        subscriptionsProtocol: "SSE",
        ...(options.prefillHeaders && {
          headers: JSON.stringify(options.prefillHeaders, null, 2),
          shouldPersistHeaders: false,
        }),
      }),
    );
  };
  return {
    onRequest({ request, endResponse }) {
      if (!wantsGraphiQL(request) || new URL(request.url).pathname !== graphqlEndpoint) return undefined;
      html ??= render();
      return html.then((page) => {
        endResponse(
          new Response(page, {
            status: 200,
            headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" },
          }),
        );
      });
    },
  };
}
