import type { Plugin } from "graphql-yoga";

/** Named readiness checks; each resolves true when healthy (a throw counts as false). */
export type ReadinessChecks = Record<string, () => Promise<boolean>>;

/**
 * `GET /healthz`: the process answers (liveness). `GET /readyz`: every check passes
 * (readiness), e.g. the token store is readable and Canvas answers. Readiness results are cached
 * for `cacheMs` so a probe every second does not become a Canvas request every second. Bodies
 * say which check failed, never why (no hostnames, no errors).
 */
export function useHealth(checks: ReadinessChecks, options: { cacheMs: number }): Plugin {
  let cached: { at: number; result: Promise<Record<string, boolean>> } | undefined;
  const run = async (): Promise<Record<string, boolean>> => {
    const entries = await Promise.all(
      Object.entries(checks).map(async ([name, check]) => [name, await check().catch(() => false)] as const),
    );
    return Object.fromEntries(entries);
  };
  const readiness = () => {
    const now = Date.now();
    if (!cached || now - cached.at >= options.cacheMs) cached = { at: now, result: run() };
    return cached.result;
  };
  const json = (status: number, body: unknown) =>
    new Response(JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" },
    });

  return {
    onRequest({ request, endResponse }) {
      if (request.method !== "GET" && request.method !== "HEAD") return undefined;
      const path = new URL(request.url).pathname;
      if (path === "/healthz") {
        endResponse(json(200, { status: "ok" }));
        return undefined;
      }
      if (path === "/readyz") {
        return readiness().then((results) => {
          const ready = Object.values(results).every(Boolean);
          const detail = Object.fromEntries(
            Object.entries(results).map(([k, ok]) => [k, ok ? "ok" : "failing"]),
          );
          endResponse(json(ready ? 200 : 503, { status: ready ? "ready" : "not ready", checks: detail }));
        });
      }
      return undefined;
    },
  };
}
