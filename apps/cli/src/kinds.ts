import type { ExportFormat, ExportKind } from "@easel/export";
import type { SyncKind } from "@easel/sync";

// Copies of the libraries' lists, for commander's choices and help: reading SYNC_KINDS from
// @easel/sync would load bullmq and pg into every `easel` call. `satisfies` rejects a word the
// library does not know; test/startup.test.ts fails when a list misses one or changes order.

/** What `easel export <kind>` accepts, in @easel/export's order. */
export const EXPORT_KINDS = [
  "courses",
  "enrollments",
  "grades",
  "submissions",
  "assignments",
  "attendance",
  "engagement",
] as const satisfies readonly ExportKind[];

/** What `easel export --format` accepts. */
export const EXPORT_FORMATS = ["csv", "ndjson"] as const satisfies readonly ExportFormat[];

/** What `easel sync --kinds` accepts, in @easel/sync's order. */
export const SYNC_KINDS = [
  "enrollments",
  "grades",
  "submissions",
  "attendance",
  "engagement",
] as const satisfies readonly SyncKind[];
