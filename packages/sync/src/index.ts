export { canvasCourseSource } from "./canvas-source.js";
export { type CourseSyncResult, DEFAULT_OVERLAP_SECONDS, syncCourse } from "./course-sync.js";
export { openDatabase } from "./database.js";
export {
  DATABASE_UNAVAILABLE,
  MIGRATION_REQUIRED,
  RUN_NOT_FOUND,
  redactDatabaseUrl,
  SYNC_FAILED,
  SyncError,
  type SyncErrorCode,
} from "./errors.js";
export { type CourseState, type RunState, type RunStatus, runStatus } from "./ledger.js";
export { currentSchemaVersion, LATEST_SCHEMA_VERSION, MIGRATIONS, migrate } from "./migrations.js";
export {
  type EnqueueOptions,
  enqueueSync,
  type RunningWorker,
  SYNC_QUEUE_NAME,
  type SyncJobData,
  startSyncWorker,
  type WorkerOptions,
} from "./queue.js";
export { runSync, type SyncOptions, type SyncOutcome, tablesFor } from "./run.js";
export {
  type CourseDataSource,
  type IncrementalCourseDataSource,
  isIncrementalSource,
  type SubmissionSlices,
  type WarehouseRow,
} from "./source.js";
export { SYNC_KINDS, type SyncKind, TABLES, type TableName } from "./tables.js";
