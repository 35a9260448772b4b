/** How retries spread out. */
export interface BackoffOptions {
  /** Delay before the first retry, before jitter. */
  readonly baseMs: number;
  /** No delay exceeds this, before jitter. */
  readonly maxMs: number;
  /** Growth per attempt. @default 2 */
  readonly factor?: number;
  /** Source of randomness in [0, 1). @default Math.random */
  readonly random?: () => number;
}

/**
 * The delay before retry number `attempt` (1 for the first retry): exponential growth capped at
 * `maxMs`, with "equal jitter" (half fixed, half random) so a crowd of retrying callers spreads out
 * while each one's delay still grows. The one backoff formula of Easel.
 *
 * @see https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/
 */
export function backoffDelay(attempt: number, options: BackoffOptions): number {
  const { baseMs, maxMs, factor = 2, random = Math.random } = options;
  const exp = Math.min(maxMs, baseMs * factor ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
