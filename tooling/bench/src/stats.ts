/** Order statistics and the few number formats RESULTS.md uses. */

export interface Spread {
  n: number;
  median: number;
  min: number;
  max: number;
}

export interface Percentiles {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

function sorted(values: readonly number[]): number[] {
  if (values.length === 0) throw new RangeError("no samples");
  return [...values].sort((a, b) => a - b);
}

/** Nearest-rank percentile (p in 0..100) of already sorted values. */
function rank(values: readonly number[], p: number): number {
  const index = Math.min(values.length - 1, Math.max(0, Math.ceil((p / 100) * values.length) - 1));
  return values[index]!;
}

export function median(values: readonly number[]): number {
  const s = sorted(values);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  const s = sorted(values);
  return { n: s.length, median: median(s), min: s[0]!, max: s[s.length - 1]! };
}

export function percentiles(values: readonly number[]): Percentiles {
  const s = sorted(values);
  return { n: s.length, p50: rank(s, 50), p99: rank(s, 99), max: s[s.length - 1]! };
}

/** 3 significant figures, thousands separated: 1234567 -> "1,230,000", 0.01234 -> "0.0123". */
export function num(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (value === 0) return "0";
  const magnitude = Math.floor(Math.log10(Math.abs(value)));
  const decimals = Math.max(0, digits - 1 - magnitude);
  const rounded = Number(value.toPrecision(digits));
  return rounded.toLocaleString("en-US", { minimumFractionDigits: 0, maximumFractionDigits: decimals });
}

/** "median (min–max)" with a unit: "12,300 ops/s (11,900–12,800)"; one sample prints alone. */
export function fmtSpread(values: readonly number[], unit = ""): string {
  const s = spread(values);
  const u = unit ? ` ${unit}` : "";
  if (s.n === 1) return `${num(s.median)}${u} (1 run)`;
  return `${num(s.median)}${u} (${num(s.min)}–${num(s.max)})`;
}

/** "p50 / p99" in ms. */
export function fmtP50P99(values: readonly number[]): string {
  const p = percentiles(values);
  return `${num(p.p50)} / ${num(p.p99)} ms`;
}

export function ratio(a: number, b: number): string {
  if (b === 0) return "n/a";
  return `${num(a / b)}×`;
}

export function mb(bytes: number): number {
  return bytes / 1048576;
}
