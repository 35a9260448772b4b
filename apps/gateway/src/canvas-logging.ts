import type { CanvasLogger } from "@easel/canvas-client";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.js";
import { executionScope } from "./request-state.js";

type Level = "debug" | "info" | "warn" | "error";

/**
 * The Canvas client's logger: forwards each line to the current request's logger (so it carries
 * the request id), and turns the client's per-request lines into metrics. The client logs one
 * line per answered request (`status`, `durationMs`) and one per attempt that got no answer
 * (`reason`); it never logs tokens or bodies.
 */
export function canvasLoggerFor(base: Logger, metrics: GatewayMetrics): CanvasLogger {
  const emit = (level: Level) => (fields: Record<string, unknown>, message?: string) => {
    const scope = executionScope.getStore();
    const method = typeof fields.method === "string" ? fields.method : undefined;
    const route = typeof fields.path === "string" ? fields.path : undefined;
    if (method && route && typeof fields.durationMs === "number") {
      const status = typeof fields.status === "number" ? String(fields.status) : "0";
      if (typeof fields.status === "number" || typeof fields.reason === "string") {
        metrics.canvasRequests.inc({ method, route, status });
        metrics.canvasDuration.observe({ method, route }, fields.durationMs / 1000);
        if (scope) scope.canvasRequests++;
      }
    }
    // The client's `requestId` is Canvas's (X-Request-Context-Id): renamed, so it does not
    // shadow the gateway request id the child logger carries.
    const { requestId: canvasRequestId, ...rest } = fields;
    (scope?.log ?? base)[level]({ component: "canvas", ...rest, canvasRequestId }, message);
  };
  return { debug: emit("debug"), info: emit("info"), warn: emit("warn"), error: emit("error") };
}
