import { developerToken, isLoopbackHttpUrl } from "@easel/auth";
import type { TokenRecord } from "@easel/token-store";
import { UsageError } from "../exit-codes.js";
import type { Env } from "./config.js";

export const DEFAULT_EXPIRY_WARNING_DAYS = 14;
const DAY_SECONDS = 86_400;

/** `--expiry-warning-days`, else `EASEL_EXPIRY_WARNING_DAYS`, else 14. */
export function expiryWarningDays(flag: number | undefined, env: Env): number {
  if (flag !== undefined) return flag;
  const raw = env.EASEL_EXPIRY_WARNING_DAYS?.trim();
  if (!raw) return DEFAULT_EXPIRY_WARNING_DAYS;
  const days = Number(raw);
  if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(days)) {
    throw new UsageError(`EASEL_EXPIRY_WARNING_DAYS must be a number of days, received "${raw}".`);
  }
  return days;
}

/**
 * A record that cannot renew itself: a personal access token. OAuth records carry a refresh token,
 * and their hourly expiry is routine.
 */
export function isPersonalToken(record: TokenRecord): boolean {
  return typeof record.refresh_token !== "string" || record.refresh_token === "";
}

/** Whole days left (floor), negative once expired; undefined without a recorded expiry. */
export function daysLeft(record: TokenRecord, nowMs = Date.now()): number | undefined {
  if (typeof record.expires_at !== "number") return undefined;
  return Math.floor((record.expires_at - nowMs / 1000) / DAY_SECONDS);
}

/**
 * The warning a long-running command prints once at start when a personal token expires within
 * the window (or has expired): nothing otherwise.
 */
export function expiryWarning(
  record: TokenRecord | undefined,
  windowDays: number,
  where: string,
  nowMs = Date.now(),
): string | undefined {
  if (!record || !isPersonalToken(record) || typeof record.expires_at !== "number") return undefined;
  const left = record.expires_at - nowMs / 1000;
  if (left > windowDays * DAY_SECONDS) return undefined;
  const when = new Date(record.expires_at * 1000).toISOString();
  if (left <= 0)
    return `the Canvas token in ${where} expired at ${when}; create a new one (easel tokens create).`;
  const days = Math.floor(left / DAY_SECONDS);
  return (
    `the Canvas token in ${where} expires at ${when} (${days === 0 ? "less than a day" : `${days} day${days === 1 ? "" : "s"}`} left); ` +
    "regenerate it before then: easel token rotate, or easel tokens update ID --regenerate --into-store URI."
  );
}

/**
 * The same warning for a bare token (`CANVAS_ACCESS_TOKEN`), which has no stored expiry: one
 * Access Tokens API request asks Canvas. Best effort: a token that may not read its own details
 * (scoped), or a Canvas that does not answer, gives no warning and lets the command go on.
 */
export async function bareTokenExpiryWarning(
  accessToken: string,
  baseUrl: string,
  windowDays: number,
): Promise<string | undefined> {
  try {
    const strategy = developerToken({
      baseUrl,
      timeoutMs: 5_000,
      dangerouslyAllowInsecureHttp: isLoopbackHttpUrl(baseUrl),
    });
    const info = await strategy.inspect({ access_token: accessToken, token_type: "Bearer" });
    if (!info.expiresAt) return undefined;
    const record: TokenRecord = { access_token: accessToken, token_type: "Bearer" };
    record.expires_at = Date.parse(info.expiresAt) / 1000;
    return expiryWarning(record, windowDays, "CANVAS_ACCESS_TOKEN");
  } catch {
    return undefined;
  }
}
