import { performance } from "node:perf_hooks";

/**
 * Simulated time: the configured start plus real elapsed time (unless frozen) plus every
 * `advance`. Token expiry, the throttle's leak and Progress jobs all read it, so a test can
 * jump an hour ahead instead of waiting.
 */
export class SimClock {
  readonly start: number;
  readonly #frozen: boolean;
  readonly #realStart = performance.now();
  #offsetMs = 0;

  constructor(start: number, frozen: boolean) {
    this.start = start;
    this.#frozen = frozen;
  }

  /** Current simulated time in epoch milliseconds. */
  now(): number {
    const real = this.#frozen ? 0 : performance.now() - this.#realStart;
    return this.start + real + this.#offsetMs;
  }

  advance(seconds: number): void {
    this.#offsetMs += seconds * 1000;
  }
}

const TWO_DIGITS = Array.from({ length: 60 }, (_, i) => String(i).padStart(2, "0"));

/**
 * Canvas's API timestamp format: ISO 8601 in UTC, whole seconds (`2026-10-15T12:00:00Z`). Integer
 * civil-date arithmetic (H. Hinnant's days_from_civil inverse): no Date allocation on the hot path.
 */
export function isoSeconds(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  const days = Math.floor(seconds / 86400);
  let rest = seconds - days * 86400;
  const hours = Math.floor(rest / 3600);
  rest -= hours * 3600;
  const minutes = Math.floor(rest / 60);
  const secs = rest - minutes * 60;
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor(
    (doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365,
  );
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  if (year < 1000 || year > 9999) return `${new Date(seconds * 1000).toISOString().slice(0, 19)}Z`;
  return `${year}-${TWO_DIGITS[month]}-${TWO_DIGITS[day]}T${TWO_DIGITS[hours]}:${TWO_DIGITS[minutes]}:${TWO_DIGITS[secs]}Z`;
}

/** Same, or null. */
export function isoOrNull(ms: number | null): string | null {
  return ms === null ? null : isoSeconds(ms);
}
