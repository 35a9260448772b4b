export const SYNC_FAILED = "SYNC_FAILED";
export const DATABASE_UNAVAILABLE = "DATABASE_UNAVAILABLE";
export const RUN_NOT_FOUND = "RUN_NOT_FOUND";
export const MIGRATION_REQUIRED = "MIGRATION_REQUIRED";

export type SyncErrorCode =
  | typeof SYNC_FAILED
  | typeof DATABASE_UNAVAILABLE
  | typeof RUN_NOT_FOUND
  | typeof MIGRATION_REQUIRED;

/** Base class of sync failures. Messages never carry tokens or the database password. */
export class SyncError extends Error {
  readonly code: SyncErrorCode;
  constructor(code: SyncErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** Replaces the password of a postgres:// URL so it can be shown. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/(\/\/[^:/@]+:)[^@]*@/, "$1***@");
}
