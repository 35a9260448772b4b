/** The signal of one attempt: the caller's signal plus this attempt's own timeout. */
export interface AttemptSignal {
  readonly signal: AbortSignal;
  readonly timedOut: boolean;
  dispose(): void;
}

/**
 * Combines the caller's signal with a per-attempt timeout. Hand-rolled rather than
 * `AbortSignal.any` so nothing stays attached to a long-lived caller signal after the attempt
 * (a 10,000-page walk shares one signal). The timeout runs on real timers, not the client's
 * `Clock`: it bounds real I/O, like undici's own `headersTimeout` beside it.
 */
export function attemptSignal(parent: AbortSignal | undefined, timeoutMs: number): AttemptSignal {
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError"));
  }, timeoutMs);
  const onAbort = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener("abort", onAbort, { once: true });
  return {
    signal: controller.signal,
    get timedOut() {
      return timedOut;
    },
    dispose() {
      clearTimeout(timer);
      parent?.removeEventListener("abort", onAbort);
    },
  };
}
