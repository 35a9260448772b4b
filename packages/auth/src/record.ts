import { type Clock, nowSeconds } from "@easel/clock";
import type { TokenRecord } from "@easel/token-store";

/**
 * Builds the record to store from a token endpoint answer. Canvas's extra fields (`user`,
 * `canvas_region`, `real_user`, ...) are kept; `expires_at` is computed from `expires_in` and
 * the injected clock (epoch seconds, like Python's `time.time() + expires_in`).
 *
 * `previous` is the record being refreshed: its refresh token is kept when the answer has none
 * (Canvas's confidential clients reuse one refresh token for ever), and its unknown fields
 * survive unless the answer replaces them.
 */
export function recordFromTokenResponse(
  response: Readonly<Record<string, unknown>>,
  clock: Clock,
  previous?: TokenRecord,
): TokenRecord {
  const record: Record<string, unknown> = { ...(previous ?? {}) };
  for (const [field, value] of Object.entries(response)) {
    // openid-client attaches helper functions; only JSON data belongs in a record.
    if (typeof value === "function" || value === undefined) continue;
    record[field] = value;
  }
  record.token_type = "Bearer";
  const refreshToken = response.refresh_token;
  if (typeof refreshToken !== "string" || refreshToken === "") {
    if (typeof previous?.refresh_token === "string") record.refresh_token = previous.refresh_token;
    else delete record.refresh_token;
  }
  const expiresIn = response.expires_in;
  if (typeof expiresIn === "number" && Number.isFinite(expiresIn)) {
    record.expires_in = expiresIn;
    record.expires_at = nowSeconds(clock) + expiresIn;
  } else {
    // A token without expires_in does not expire on a timer: an old expires_at would lie.
    delete record.expires_in;
    delete record.expires_at;
  }
  return record as TokenRecord;
}

/** Seconds the token has left, or `undefined` when the record has no expiry. */
export function secondsLeft(record: TokenRecord, clock: Clock): number | undefined {
  return typeof record.expires_at === "number" ? record.expires_at - nowSeconds(clock) : undefined;
}

/** ISO 8601 form of an epoch-seconds expiry, for people. */
export function isoFromEpochSeconds(seconds: number | undefined): string | undefined {
  return typeof seconds === "number" ? new Date(seconds * 1000).toISOString() : undefined;
}
