import { randomBytes, randomUUID } from "node:crypto";

/**
 * Vault prints times as Go's RFC3339Nano: nanosecond digits with trailing zeros trimmed
 * ("2018-03-22T02:36:43.986212308Z"). A JS clock has milliseconds, so the sub-millisecond
 * digits come from a counter: enough to make two writes in one millisecond distinguishable.
 */
let subMillisecond = 0;
export function rfc3339Nano(epochMs: number): string {
  subMillisecond = (subMillisecond + 1) % 1_000_000;
  const iso = new Date(epochMs).toISOString(); // 2018-03-22T02:36:43.986Z
  const fraction = `${iso.slice(20, 23)}${String(subMillisecond).padStart(6, "0")}`.replace(/0+$/, "");
  return fraction ? `${iso.slice(0, 19)}.${fraction}Z` : `${iso.slice(0, 19)}Z`;
}

/** Go's `time.Duration.String()` for whole seconds: "0s", "45s", "9m58s", "1h0m0s". */
export function goDuration(totalSeconds: number): string {
  const s = Math.max(0, Math.floor(totalSeconds));
  if (s < 60) return `${s}s`;
  const hours = Math.floor(s / 3600);
  const minutes = Math.floor((s % 3600) / 60);
  const seconds = s % 60;
  return hours > 0 ? `${hours}h${minutes}m${seconds}s` : `${minutes}m${seconds}s`;
}

/**
 * Vault's duration fields accept an integer (seconds), a numeric string, or a Go duration
 * string ("1h", "3h25m19s", "90s"). Returns undefined when the value parses as none of them.
 */
export function parseDurationSeconds(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string") return undefined;
  if (/^\d+$/.test(value)) return Number(value);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
  if (!match || value === "") return undefined;
  const [, h = "0", m = "0", sec = "0"] = match;
  return Number(h) * 3600 + Number(m) * 60 + Number(sec);
}

/** Service tokens since Vault 1.10 look like `hvs.` + 24+ base62-ish characters. */
export function newServiceToken(): string {
  return `hvs.${randomBytes(18).toString("base64url")}`;
}

export function newAccessor(): string {
  return randomBytes(18).toString("base64url");
}

export { randomUUID };

/** Go's `strconv.ParseBool`, which Vault uses for `list=` and other boolean query flags. */
export function parseGoBool(value: string): boolean | undefined {
  if (["1", "t", "T", "TRUE", "true", "True"].includes(value)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(value)) return false;
  return undefined;
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
