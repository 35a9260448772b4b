import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import { requestState } from "../request-state.js";

/**
 * Gives every request an id (a well-formed incoming `x-request-id`, else a UUID), a child
 * logger carrying it, and echoes it in the `x-request-id` response header.
 */
export function useRequestId(baseLog: Logger): Plugin {
  return {
    onRequest({ request }) {
      requestState(request, baseLog);
    },
    onResponse({ request, response }) {
      response.headers.set("x-request-id", requestState(request, baseLog).requestId);
    },
  };
}
