/** Normalised pacing settings (see `PacingOptions` in options.ts for the documentation). */
export interface PacingSettings {
  enabled: boolean;
  serializeBelow: number;
  pauseBelow: number;
  leakPerSecond: number;
  upFrontCost: number;
  bucketSize: number;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/**
 * Gatekeeper for request starts: at most `limit` requests in flight, where `limit` follows
 * Canvas's leaky bucket as reported by `X-Rate-Limit-Remaining`.
 *
 * Canvas adds 50 units per request in flight (credited back at the end) plus each request's cost
 * (`X-Request-Cost`), refuses new requests once 600 units are used, and leaks 10 units a second.
 * So: while plenty remains, run `maxConcurrency` requests; as it shrinks, run fewer (each one
 * in flight holds `upFrontCost`); below `serializeBelow` run one at a time; below `pauseBelow`
 * wait for the bucket to leak before the next start. After each healthy answer the limit grows
 * back by one, so a brief dip does not leave the client crawling.
 */
export class Pacer {
  private active = 0;
  private limit: number;
  private readonly waiters: Waiter[] = [];
  private remaining: number | undefined;
  private remainingAt = 0;
  private avgCost: number | undefined;
  private pauseUntil = 0;
  private timer: NodeJS.Timeout | undefined;
  private timerAt = 0;

  constructor(
    private readonly maxConcurrency: number,
    private readonly settings: PacingSettings,
  ) {
    this.limit = maxConcurrency;
  }

  /** Resolves when a request may start; the caller must `release()` exactly once afterwards. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.waiters.length === 0 && this.active < this.limit && this.gateDelay() <= 0) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
          this.pump();
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  release(): void {
    this.active--;
    this.pump();
  }

  /** Feed the rate-limit headers of an answer (call before `release()`). */
  observe(remaining: number | undefined, cost: number | undefined): void {
    if (cost !== undefined && cost >= 0) {
      this.avgCost = this.avgCost === undefined ? cost : this.avgCost * 0.8 + cost * 0.2;
    }
    if (remaining === undefined || !this.settings.enabled) return;
    this.remaining = remaining;
    this.remainingAt = Date.now();
    // On Canvas, `remaining` still counts the up-front cost of the OTHER requests in flight (they
    // get it back), so the room for parallel requests is judged on the settled figure. Whether to
    // serialize is judged on the raw one: a server that does not overlap requests never adds it.
    const settled = remaining + Math.max(0, this.active - 1) * this.settings.upFrontCost;
    const target = remaining < this.settings.serializeBelow ? 1 : this.targetLimit(settled);
    if (target < this.limit) this.limit = target;
    else if (target > this.limit) this.limit++;
    this.pump();
  }

  /**
   * A throttled answer (429 / 403 "Rate Limit Exceeded"). With pacing on, everyone slows down:
   * one request at a time, and no start before the bucket has leaked back to `pauseBelow`, plus
   * `extraDelayMs` (growing with consecutive throttles, from the retry policy).
   */
  throttled(remaining: number | undefined, extraDelayMs: number): void {
    if (!this.settings.enabled) return;
    this.remaining = Math.min(remaining ?? 0, this.estimatedRemaining() ?? 0);
    this.remainingAt = Date.now();
    this.limit = 1;
    this.pauseUntil = Math.max(this.pauseUntil, Date.now() + extraDelayMs);
    this.pump();
  }

  /** Figures for `client.stats()`. */
  snapshot(): { concurrencyLimit: number; inFlight: number; rateLimitRemaining: number | undefined } {
    return {
      concurrencyLimit: this.limit,
      inFlight: this.active,
      rateLimitRemaining: this.estimatedRemaining(),
    };
  }

  /** Rejects every waiter (client closed). */
  close(reason: unknown): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) {
      if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
      w.reject(reason);
    }
  }

  private targetLimit(settled: number): number {
    const s = this.settings;
    if (settled < s.serializeBelow) return 1;
    const perRequest = s.upFrontCost + (this.avgCost ?? 1);
    const n = 1 + Math.floor((settled - s.serializeBelow) / Math.max(1, perRequest));
    return Math.max(1, Math.min(this.maxConcurrency, n));
  }

  private estimatedRemaining(): number | undefined {
    if (this.remaining === undefined) return undefined;
    const leaked = ((Date.now() - this.remainingAt) / 1000) * this.settings.leakPerSecond;
    return Math.min(this.settings.bucketSize, this.remaining + leaked);
  }

  /** Milliseconds before the next start is allowed (0 = now). */
  private gateDelay(): number {
    let delay = this.pauseUntil - Date.now();
    if (this.settings.enabled) {
      const est = this.estimatedRemaining();
      if (est !== undefined && est < this.settings.pauseBelow) {
        delay = Math.max(delay, ((this.settings.pauseBelow - est) / this.settings.leakPerSecond) * 1000);
      }
    }
    return Math.max(0, Math.ceil(delay));
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.active < this.limit) {
      const delay = this.gateDelay();
      if (delay > 0) {
        this.schedule(delay);
        return;
      }
      const waiter = this.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener("abort", waiter.onAbort);
      this.active++;
      waiter.resolve();
    }
  }

  private schedule(delay: number): void {
    const at = Date.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    if (this.timer) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pump();
    }, delay);
  }
}
