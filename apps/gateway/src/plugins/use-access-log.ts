import { GraphQLError } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import { clientMistakesOf, noteDocumentErrors } from "../error-log.js";
import { requestState } from "../request-state.js";

const QUIET_PATHS = new Set(["/healthz", "/readyz", "/metrics"]);

/**
 * One structured line per request: method, path (never the query string, which may carry a
 * GraphQL document or an OAuth code), status, duration, Canvas requests spent, and who asked
 * (API key id or Canvas user id, never a credential). Probes log at debug; a request whose answer
 * carries a client's mistake (see error-log.ts) logs at warn, with the mistakes.
 */
export function useAccessLog(baseLog: Logger): Plugin {
  const stateOf = (context: unknown) => {
    const request = (context as { request?: Request }).request;
    return request ? requestState(request, baseLog) : undefined;
  };
  return {
    // A document that does not parse or validate is a client's mistake too.
    onParse({ context }) {
      return ({ result }) => {
        const state = stateOf(context);
        if (state && result instanceof GraphQLError)
          noteDocumentErrors(state, [result], "GRAPHQL_PARSE_FAILED");
      };
    },
    onValidate({ context }) {
      return ({ result }) => {
        const state = stateOf(context);
        if (state && result.length > 0) noteDocumentErrors(state, result, "GRAPHQL_VALIDATION_FAILED");
      };
    },
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
      const mistakes = clientMistakesOf(state);
      if (mistakes) state.log.warn({ ...fields, ...mistakes }, "request");
      else if (QUIET_PATHS.has(path)) state.log.debug(fields, "request");
      else state.log.info(fields, "request");
    },
  };
}
