import type { CanvasClient, CanvasTransport } from "@easel/canvas-client";

/**
 * What the export needs from a `CanvasClient` (the real one satisfies it): what canvas-client's
 * endpoint groups send requests through, and the counters.
 */
export type ExportClient = CanvasTransport & Pick<CanvasClient, "stats">;

/** The client counters a progress bar shows. */
export interface ClientStats {
  requests: number;
  retries: number;
  throttled: number;
  refreshes: number;
}

export function readClientStats(client: ExportClient): ClientStats {
  const stats = client.stats();
  return {
    requests: stats.requests,
    retries: stats.retries,
    throttled: stats.throttled,
    refreshes: stats.refreshes,
  };
}
