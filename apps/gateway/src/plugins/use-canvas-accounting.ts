import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import type { GatewayMetrics } from "../metrics.js";
import { executionScope, requestState } from "../request-state.js";

/**
 * Runs each GraphQL operation inside the request's async scope, so the (possibly shared) Canvas
 * client's log lines land on the right request: counted, tagged with its id, and summed into
 * `easel_gateway_canvas_requests_per_operation`.
 */
export function useCanvasAccounting(baseLog: Logger, metrics: GatewayMetrics): Plugin {
  return {
    instrumentation: {
      operation({ request }, wrapped) {
        const state = requestState(request, baseLog);
        const before = state.canvasRequests;
        return executionScope.run(state, async () => {
          try {
            await wrapped();
          } finally {
            metrics.canvasRequestsPerOperation.observe(state.canvasRequests - before);
          }
        });
      },
    },
  };
}
