import { systemClock } from "@easel/clock";

/**
 * Kept only for endpoints.ts's Progress polling, which another change moves onto the client's
 * `options.clock`; delete this file once nothing imports it. New code waits on the injected Clock.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return systemClock.sleep(ms, signal);
}
