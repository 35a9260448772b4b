import { CorruptRecordError } from "./errors.js";
import type { TokenRecord } from "./record.js";

/**
 * Checks that `value` has the shape of a TokenRecord and returns it typed. Used by every
 * store after decoding, so a record that is JSON but not a token fails with `CORRUPT_RECORD`.
 */
export function parseTokenRecord(value: unknown, location?: string): TokenRecord {
  const where = location ? ` at ${location}` : "";
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new CorruptRecordError(`The stored value${where} is not a token record (expected a JSON object).`, {
      location,
    });
  }
  const record = value as Record<string, unknown>;
  const problem = recordProblem(record);
  if (problem) {
    throw new CorruptRecordError(`The stored value${where} is not a token record: ${problem}.`, { location });
  }
  return record as TokenRecord;
}

function recordProblem(record: Record<string, unknown>): string | undefined {
  if (typeof record.access_token !== "string" || record.access_token.length === 0) {
    return "access_token is missing or not a string";
  }
  if (record.token_type !== undefined && typeof record.token_type !== "string") {
    return "token_type is not a string";
  }
  if (
    record.refresh_token !== undefined &&
    record.refresh_token !== null &&
    typeof record.refresh_token !== "string"
  ) {
    return "refresh_token is not a string";
  }
  for (const field of ["expires_at", "expires_in"] as const) {
    const v = record[field];
    if (v !== undefined && v !== null && (typeof v !== "number" || !Number.isFinite(v))) {
      return `${field} is not a number`;
    }
  }
  const user = record.user;
  if (user !== undefined && user !== null) {
    if (
      typeof user !== "object" ||
      Array.isArray(user) ||
      typeof (user as { id?: unknown }).id !== "number"
    ) {
      return "user is not an object with a numeric id";
    }
  }
  return undefined;
}
