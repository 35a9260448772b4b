import type { Pool } from "pg";
import { type CourseSyncResult, syncCourse } from "./course-sync.js";
import { MIGRATION_REQUIRED, SyncError } from "./errors.js";
import {
  createRun,
  findResumableRun,
  finishRunIfComplete,
  markCourseFailed,
  markRunInterrupted,
  markRunning,
  pendingCourses,
  type RunStatus,
  runStatus,
} from "./ledger.js";
import { currentSchemaVersion, LATEST_SCHEMA_VERSION } from "./migrations.js";
import type { CourseDataSource } from "./source.js";
import { SYNC_KINDS, type SyncKind, type TableName } from "./tables.js";

export interface SyncOptions {
  pool: Pool;
  /** @default "easel" */
  schema?: string;
  source: CourseDataSource;
  courseIds: readonly number[];
  /** @default every kind */
  kinds?: readonly SyncKind[];
  /** Courses synced at once. @default 4 */
  concurrency?: number;
  /**
   * `"auto"` resumes the latest unfinished run over the same courses and kinds; a number resumes
   * that run; `false` always starts a new one.
   * @default "auto"
   */
  resume?: "auto" | number | false;
  /**
   * Fetch every submission of every course (the periodic full sweep, `easel sync --full`). Otherwise a
   * course whose last run succeeded fetches only the submissions changed since its high-water mark.
   * @default false
   */
  full?: boolean;
  /** How far under the high-water mark an incremental run starts. @default 3600 */
  overlapSeconds?: number;
  /**
   * The clock a course's high-water mark is capped by (a mark never passes the moment its run started
   * fetching). Canvas's clock, ideally: a simulator whose days pass faster than ours needs its own.
   * @default the wall clock
   */
  clock?: { now(): number };
  onCourseDone?: (result: CourseSyncResult, progress: { done: number; total: number }) => void;
  onCourseFailed?: (courseId: number, error: unknown) => void;
  signal?: AbortSignal;
}

export interface SyncOutcome {
  runId: number;
  resumed: boolean;
  /** Courses done by this invocation (not those a resumed run had already finished). */
  synced: number;
  skippedAlreadyDone: number;
  status: RunStatus;
}

/** The tables a set of kinds writes: courses and users always, assignments with submissions. */
export function tablesFor(kinds: readonly SyncKind[]): TableName[] {
  const tables: TableName[] = ["courses", "users"];
  if (kinds.includes("submissions") || kinds.includes("attendance")) tables.push("assignments");
  for (const kind of SYNC_KINDS) if (kinds.includes(kind)) tables.push(kind);
  return tables;
}

/**
 * A failure no retry in this run fixes: the whole run stops, resumable (the CLI exits 3 on
 * REAUTH_REQUIRED). STORE_UNAVAILABLE reaches here only once the token in memory has expired
 * with the store still down: every further course would fail the same way.
 */
function isFatal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "REAUTH_REQUIRED" || code === "STORE_UNAVAILABLE";
}

/**
 * Syncs courses into PostgreSQL in this process. Each course is all or nothing; a failed
 * course is recorded and the others go on; a fatal error (re-authorization needed) stops the
 * run, keeps what finished, and leaves it resumable.
 */
export async function runSync(options: SyncOptions): Promise<SyncOutcome> {
  const schema = options.schema ?? "easel";
  const { pool, source } = options;
  const kinds = [...(options.kinds ?? SYNC_KINDS)].sort();
  const courseIds = [...new Set(options.courseIds)].sort((a, b) => a - b);
  await assertMigrated(pool, schema);

  const resume = options.resume ?? "auto";
  let runId: number | undefined;
  if (typeof resume === "number") runId = resume;
  else if (resume === "auto") runId = await findResumableRun(pool, schema, kinds, courseIds);
  const resumed = runId !== undefined;
  if (runId === undefined) runId = await createRun(pool, schema, { kinds, courseIds, mode: "local" });
  else await markRunning(pool, schema, runId);

  const todo = await pendingCourses(pool, schema, runId);
  const skippedAlreadyDone = courseIds.length - todo.length;
  const tables = tablesFor(kinds as SyncKind[]);
  const concurrency = Math.max(1, options.concurrency ?? 4);
  let next = 0;
  let synced = 0;
  let fatal: unknown;
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;

  const worker = async () => {
    while (fatal === undefined && next < todo.length) {
      const courseId = todo[next++]!;
      try {
        const result = await syncCourse(pool, {
          schema,
          runId,
          courseId,
          tables,
          source,
          full: options.full,
          overlapSeconds: options.overlapSeconds,
          clock: options.clock,
          signal,
        });
        synced++;
        options.onCourseDone?.(result, { done: skippedAlreadyDone + synced, total: courseIds.length });
      } catch (error) {
        if (isFatal(error) || signal.aborted) {
          fatal ??= error;
          stop.abort(error);
          return;
        }
        await markCourseFailed(pool, schema, runId, courseId, errorText(error));
        options.onCourseFailed?.(courseId, error);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, todo.length) }, worker));

  if (fatal !== undefined) {
    await markRunInterrupted(pool, schema, runId, errorText(fatal));
    throw Object.assign(fatal as object, { runId });
  }
  await finishRunIfComplete(pool, schema, runId);
  return { runId, resumed, synced, skippedAlreadyDone, status: await runStatus(pool, schema, runId) };
}

export async function assertMigrated(pool: Pool, schema: string): Promise<void> {
  const version = await currentSchemaVersion(pool, schema);
  if (version < LATEST_SCHEMA_VERSION) {
    throw new SyncError(
      MIGRATION_REQUIRED,
      `The database schema "${schema}" is at version ${version}, this easel needs ${LATEST_SCHEMA_VERSION}: run \`easel sync migrate --to <url>\` first.`,
    );
  }
}

/** An error's message without stack or secrets, for the ledger. */
export function errorText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === "string" ? `[${code}] ` : ""}${error.message}`.slice(0, 2_000);
  }
  return String(error).slice(0, 2_000);
}
