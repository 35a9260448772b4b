import type { ThrottleSettings } from "./options.js";

interface Bucket {
  count: number;
  lastLeak: number;
}

/** A reservation made when a request starts; settled when it ends. */
export interface Reservation {
  bucket: Bucket;
  throttled: boolean;
}

/**
 * Canvas's per-client leaky bucket (canvas:app/middleware/request_throttle.rb, LeakyBucket): a request
 * adds `upFrontCost` when it starts and is refused if the bucket is then at or above `hwm`; when it
 * ends the up-front cost is replaced by the real cost; the count leaks at `outflowPerSecond` and is
 * capped at `maximum`.
 */
export class Throttle {
  readonly #buckets = new Map<string, Bucket>();
  readonly settings: ThrottleSettings;
  readonly enabled: boolean;

  constructor(settings: ThrottleSettings, enabled: boolean) {
    this.settings = settings;
    this.enabled = enabled;
  }

  #leak(bucket: Bucket, now: number): void {
    const elapsed = now - bucket.lastLeak;
    if (elapsed > 0) {
      bucket.count = Math.max(0, bucket.count - (elapsed / 1000) * this.settings.outflowPerSecond);
      bucket.lastLeak = now;
    }
  }

  begin(key: string, now: number): Reservation {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      bucket = { count: 0, lastLeak: now };
      this.#buckets.set(key, bucket);
    }
    this.#leak(bucket, now);
    bucket.count = Math.min(this.settings.maximum, bucket.count + this.settings.upFrontCost);
    return { bucket, throttled: this.enabled && bucket.count >= this.settings.hwm };
  }

  /** Replaces the up-front cost by `cost`; returns `X-Rate-Limit-Remaining` (hwm - count, may be < 0). */
  end(reservation: Reservation, cost: number, now: number): number {
    const { bucket } = reservation;
    this.#leak(bucket, now);
    bucket.count = Math.min(
      this.settings.maximum,
      Math.max(0, bucket.count - this.settings.upFrontCost + cost),
    );
    return this.settings.hwm - bucket.count;
  }

  /** The request cost of a finished request. */
  cost(rows: number, extra: number): number {
    return this.settings.costPerRequest + rows * this.settings.costPerRow + extra;
  }

  /** Current remaining of a bucket key without charging it (for tests and stats). */
  remaining(key: string, now: number): number {
    const bucket = this.#buckets.get(key);
    if (!bucket) return this.settings.hwm;
    this.#leak(bucket, now);
    return this.settings.hwm - bucket.count;
  }

  reset(): void {
    this.#buckets.clear();
  }
}

/** A Ruby `Float#to_s`-like rendering: "600.0", "599.99", "-200.0". */
export function rubyFloat(value: number): string {
  const rounded = Math.round(value * 1e6) / 1e6;
  const text = String(Object.is(rounded, -0) ? 0 : rounded);
  return Number.isInteger(rounded) ? `${text}.0` : text;
}
