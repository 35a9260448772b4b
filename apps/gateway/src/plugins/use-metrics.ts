import type { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import { INTERNAL_SERVER_ERROR, publicErrorFor } from "../errors.js";
import type { GatewayMetrics } from "../metrics.js";

/**
 * Serves `GET /metrics` (Prometheus text) and records every HTTP request's status and
 * latency by route, and every GraphQL error by its public code. Route labels come from a
 * fixed list, so a scanner cannot blow up the label space.
 */
export function useMetrics(metrics: GatewayMetrics, graphqlEndpoint: string): Plugin {
  const routes = new Set([
    graphqlEndpoint,
    "/healthz",
    "/readyz",
    "/metrics",
    "/auth/login",
    "/auth/callback",
    "/auth/logout",
  ]);
  const started = new WeakMap<Request, number>();
  const routeOf = (request: Request) => {
    const path = new URL(request.url).pathname;
    return routes.has(path) ? path : "other";
  };
  return {
    onRequest({ request, endResponse, fetchAPI }) {
      started.set(request, performance.now());
      if (request.method === "GET" && new URL(request.url).pathname === "/metrics") {
        return metrics.registry.metrics().then((text) => {
          endResponse(
            new fetchAPI.Response(text, {
              status: 200,
              headers: { "content-type": metrics.registry.contentType, "cache-control": "no-store" },
            }),
          );
        });
      }
      return undefined;
    },
    onExecute() {
      return {
        onExecuteDone({ result }) {
          if (!("errors" in result) || !result.errors) return;
          for (const error of result.errors as readonly GraphQLError[]) {
            const code = (error.extensions?.code as string | undefined) ?? publicErrorFor(error)?.code;
            metrics.graphqlErrors.inc({ code: code ?? INTERNAL_SERVER_ERROR });
          }
        },
      };
    },
    onResponse({ request, response }) {
      const route = routeOf(request);
      const begin = started.get(request);
      metrics.httpRequests.inc({ method: request.method, route, status: String(response.status) });
      if (begin !== undefined) {
        metrics.httpDuration.observe({ method: request.method, route }, (performance.now() - begin) / 1000);
      }
    },
  };
}
