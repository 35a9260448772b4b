/** Where auth reads the time. Inject one to test expiry without waiting. */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Epoch seconds (possibly fractional), the unit of `TokenRecord.expires_at`. */
export function nowSeconds(clock: Clock): number {
  return clock.now() / 1000;
}
