import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import { requestState } from "../request-state.js";

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * One structured line per request: method, path (never the query string, which may carry a
 * GraphQL document or an OAuth code), status, duration, Canvas requests spent, and who asked
 * (API key id or Canvas user id, never a credential). Probes log at debug.
 */
export function useAccessLog(baseLog: Logger): Plugin {
  return {
    onResponse({ request, response }) {
      const state = requestState(request, baseLog);
      const path = new URL(request.url).pathname;
      const fields = {
        method: request.method,
        path,
        status: response.status,
        durationMs: Math.round(performance.now() - state.startedAt),
        canvasRequests: state.canvasRequests,
        principal: state.principal,
      };
      if (QUIET_PATHS.has(path)) state.log.debug(fields, "request");
      else state.log.info(fields, "request");
    },
  };
}
