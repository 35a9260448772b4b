import { type Job, Queue, UnrecoverableError, Worker } from "bullmq";
import { Redis } from "ioredis";
import type { Pool } from "pg";
import { type CourseSyncResult, syncCourse } from "./course-sync.js";
import {
  createRun,
  finishRunIfComplete,
  markCourseFailed,
  markRunInterrupted,
  markRunning,
  pendingCourses,
} from "./ledger.js";
import { assertMigrated, errorText, tablesFor } from "./run.js";
import type { CourseDataSource } from "./source.js";
import { SYNC_KINDS, type SyncKind } from "./tables.js";

/** The BullMQ queue every `easel sync --queue` and `easel worker` of a deployment shares. */
export const SYNC_QUEUE_NAME = "easel-sync";

export interface SyncJobData {
  runId: number;
  courseId: number;
  kinds: SyncKind[];
  schema: string;
  /** Every submission, not only the changed ones (see `SyncOptions.full`). */
  full?: boolean;
}

function connect(queueUrl: string): Redis {
  // BullMQ workers block on Redis; ioredis must not give up on a command mid-wait.
  return new Redis(queueUrl, { maxRetriesPerRequest: null, enableReadyCheck: true });
}

export interface EnqueueOptions {
  pool: Pool;
  queueUrl: string;
  /** @default "easel" */
  schema?: string;
  courseIds: readonly number[];
  kinds?: readonly SyncKind[];
  /** Fetch every submission (the periodic full sweep). @default false */
  full?: boolean;
  /** Resume this run: enqueue only its courses that are not done. */
  resumeRunId?: number;
  /** Tries per course before it counts as failed. @default 5 */
  attempts?: number;
  /** @default SYNC_QUEUE_NAME */
  queueName?: string;
}

/** Records a run in the ledger and enqueues one job per course. */
export async function enqueueSync(options: EnqueueOptions): Promise<{ runId: number; enqueued: number }> {
  const schema = options.schema ?? "easel";
  const kinds = [...(options.kinds ?? SYNC_KINDS)].sort() as SyncKind[];
  const courseIds = [...new Set(options.courseIds)].sort((a, b) => a - b);
  await assertMigrated(options.pool, schema);
  let runId = options.resumeRunId;
  if (runId === undefined) runId = await createRun(options.pool, schema, { kinds, courseIds, mode: "queue" });
  else await markRunning(options.pool, schema, runId);
  const todo = await pendingCourses(options.pool, schema, runId);
  const connection = connect(options.queueUrl);
  const queue = new Queue<SyncJobData>(options.queueName ?? SYNC_QUEUE_NAME, { connection });
  try {
    const generation = Date.now().toString(36);
    await queue.addBulk(
      todo.map((courseId) => ({
        name: "sync-course",
        data: { runId: runId!, courseId, kinds, schema, full: options.full === true },
        opts: {
          // One job per course per enqueue: BullMQ refuses a duplicate id.
          jobId: `${schema}-${runId}-${courseId}-${generation}`,
          attempts: options.attempts ?? 5,
          backoff: { type: "exponential", delay: 1_000 },
          removeOnComplete: { age: 24 * 3600 },
          removeOnFail: { age: 7 * 24 * 3600 },
        },
      })),
    );
  } finally {
    await queue.close();
    connection.disconnect();
  }
  return { runId, enqueued: todo.length };
}

export interface WorkerOptions {
  pool: Pool;
  queueUrl: string;
  /** Jobs processed at once by this process. @default 2 */
  concurrency?: number;
  /** Builds the data source for a job (one Canvas client and token manager per worker). */
  source: CourseDataSource;
  onCourseDone?: (job: SyncJobData, result: CourseSyncResult) => void;
  onCourseFailed?: (job: SyncJobData, error: unknown, willRetry: boolean) => void;
  /** @default SYNC_QUEUE_NAME */
  queueName?: string;
  /** How long a job's lock lives without renewal before another worker takes the job over. @default 30_000 */
  lockDurationMs?: number;
}

export interface RunningWorker {
  close(): Promise<void>;
}

/**
 * Processes sync jobs until closed. A job whose worker died is picked up by another once its lock
 * expires (BullMQ's stalled-job check); the per-course transaction makes a second completion a
 * no-op, so each course is synced exactly once per run.
 */
export function startSyncWorker(options: WorkerOptions): RunningWorker {
  const connection = connect(options.queueUrl);
  const worker = new Worker<SyncJobData, CourseSyncResult>(
    options.queueName ?? SYNC_QUEUE_NAME,
    async (job: Job<SyncJobData>) => {
      const { runId, courseId, kinds, schema, full } = job.data;
      try {
        const result = await syncCourse(options.pool, {
          schema,
          runId,
          courseId,
          tables: tablesFor(kinds),
          source: options.source,
          full,
        });
        await finishRunIfComplete(options.pool, schema, runId);
        options.onCourseDone?.(job.data, result);
        return result;
      } catch (error) {
        if ((error as { code?: unknown } | null)?.code === "REAUTH_REQUIRED") {
          await markRunInterrupted(options.pool, schema, runId, errorText(error));
          options.onCourseFailed?.(job.data, error, false);
          throw new UnrecoverableError(errorText(error));
        }
        const willRetry = job.attemptsMade + 1 < (job.opts.attempts ?? 1);
        if (!willRetry) {
          await markCourseFailed(options.pool, schema, runId, courseId, errorText(error));
          await finishRunIfComplete(options.pool, schema, runId);
        }
        options.onCourseFailed?.(job.data, error, willRetry);
        throw error;
      }
    },
    {
      connection,
      concurrency: options.concurrency ?? 2,
      lockDuration: options.lockDurationMs ?? 30_000,
      stalledInterval: Math.max(1_000, Math.floor((options.lockDurationMs ?? 30_000) / 2)),
      maxStalledCount: 5,
    },
  );
  let closed: Promise<void> | undefined;
  return {
    close: () => {
      closed ??= worker.close().then(() => connection.disconnect());
      return closed;
    },
  };
}
