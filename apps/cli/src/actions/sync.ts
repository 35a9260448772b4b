import { type ExportClient, listCourseIds } from "@easel/export";
import {
  canvasCourseSource,
  enqueueSync,
  migrate,
  openDatabase,
  type RunStatus,
  redactDatabaseUrl,
  runStatus,
  runSync,
  startSyncWorker,
} from "@easel/sync";
import cliProgress from "cli-progress";
import type { DatabaseFlags, StatusFlags, SyncFlags, WorkerFlags } from "../commands/sync.js";
import { type CourseSelectionFlags, checkCourseSelection, shellQuote } from "../course-options.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { connectCanvas } from "./canvas.js";
import { untilSignal } from "./signals.js";

function databaseUrl(flags: DatabaseFlags): string {
  const url = flags.to ?? process.env.EASEL_DATABASE_URL;
  if (!url) throw new UsageError("--to postgres://... (or EASEL_DATABASE_URL) is required.");
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(`--to must be a postgres:// URL, got "${redactDatabaseUrl(url)}".`);
  }
  return url;
}

/**
 * Where the shared rate-limit budget lives: `--shared-pacing URL`, none with `--no-shared-pacing`,
 * else the queue's Redis when there is a queue (every worker and enqueuer on the token shares it).
 */
function sharedPacing(flags: { queue?: string; sharedPacing?: string | false }): string | undefined {
  if (flags.sharedPacing === false) return undefined;
  return flags.sharedPacing ?? flags.queue;
}

/** The course ids a selection names, ascending; listing Canvas for `--all-courses`. */
async function resolveCourseIds(client: ExportClient, flags: CourseSelectionFlags): Promise<number[]> {
  const courses = checkCourseSelection(flags);
  if (!flags.allCourses) return courses;
  return listCourseIds(client, { accountId: flags.account, termId: flags.term });
}

export async function migrateDatabase(flags: DatabaseFlags): Promise<void> {
  const url = databaseUrl(flags);
  const pool = await openDatabase(url);
  try {
    const applied = await migrate(pool, flags.schema);
    process.stdout.write(
      applied.length
        ? `Applied migration(s) ${applied.join(", ")} to schema "${flags.schema}" at ${redactDatabaseUrl(url)}.\n`
        : `Schema "${flags.schema}" is up to date.\n`,
    );
  } finally {
    await pool.end();
  }
}

export async function showRunStatus(runId: number, flags: StatusFlags): Promise<void> {
  const pool = await openDatabase(databaseUrl(flags));
  try {
    const status = await runStatus(pool, flags.schema, runId);
    process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
  } finally {
    await pool.end();
  }
}

export async function runSyncCommand(flags: SyncFlags): Promise<void> {
  const url = databaseUrl(flags);
  const connection = await connectCanvas(flags, {
    maxConcurrency: Math.max(4, flags.concurrency * 2),
    sharedPacing: sharedPacing(flags),
  });
  const pool = await openDatabase(url, { max: flags.concurrency + 2 });
  try {
    const courseIds = await resolveCourseIds(connection.client, flags);
    if (flags.queue) {
      const { runId, enqueued } = await enqueueSync({
        pool,
        queueUrl: flags.queue,
        queueName: flags.queueName,
        schema: flags.schema,
        courseIds,
        kinds: flags.kinds,
        full: flags.full,
        resumeRunId: flags.resume,
      });
      process.stdout.write(
        `Run ${runId}: enqueued ${enqueued} course(s). Follow it with: easel sync status ${runId} --to ${shellQuote(redactDatabaseUrl(url))}\n`,
      );
      return;
    }
    const progress = !flags.quiet && process.stderr.isTTY ? new SyncProgressBar(courseIds.length) : undefined;
    const started = Date.now();
    try {
      const outcome = await runSync({
        pool,
        schema: flags.schema,
        source: canvasCourseSource(connection.client),
        courseIds,
        kinds: flags.kinds,
        concurrency: flags.concurrency,
        full: flags.full,
        resume: flags.resume ?? (flags.newRun ? false : "auto"),
        onCourseDone: (_result, p) => progress?.update(p.done, connection.client.stats()),
        onCourseFailed: (courseId, error) => {
          progress?.interrupt(`course ${courseId} failed: ${(error as Error).message}`);
        },
      });
      progress?.stop();
      const { status } = outcome;
      if (!flags.quiet) {
        const seconds = ((Date.now() - started) / 1000).toFixed(1);
        const rows = Object.values(status.counts).reduce((a, b) => a + b, 0);
        process.stderr.write(
          `Run ${outcome.runId} ${status.state}${outcome.resumed ? " (resumed)" : ""}: ${status.courses.done}/${status.courses.total} courses, ` +
            `${rows} rows, ${status.changes} changes, ${outcome.skippedAlreadyDone} already done, ` +
            `${status.incrementalCourses} incremental, ` +
            `${connection.client.stats().requests} Canvas requests, ${seconds}s\n`,
        );
      }
      if (status.state === "failed") {
        const failed = status.failedCourses.map((c) => `  course ${c.courseId}: ${c.error}`).join("\n");
        throw new CliExit(
          EXIT_FAILURE,
          `Run ${outcome.runId}: ${status.failedCourses.length} course(s) failed and kept their previous data:\n${failed}\nRerun the same command to retry them.`,
        );
      }
    } catch (error) {
      progress?.stop();
      const code = (error as { code?: unknown } | null)?.code;
      const runId = (error as { runId?: unknown } | null)?.runId;
      if (code === "REAUTH_REQUIRED") {
        throw new CliExit(
          EXIT_REAUTH,
          `Canvas needs a new authorization; run ${runId ?? ""} stopped, finished courses are committed and the rest untouched.\n` +
            `Fix: ${connection.remedy}\nThen resume with the same command (it resumes run ${runId ?? "automatically"}).`,
          { cause: error },
        );
      }
      if (code === "STORE_UNAVAILABLE" && runId !== undefined) {
        throw new CliExit(
          EXIT_FAILURE,
          `[STORE_UNAVAILABLE] ${(error as Error).message}
Run ${runId} stopped; finished courses are committed and the rest untouched.
` + `Once the token store is back, resume with the same command (it resumes run ${runId}).`,
          { cause: error },
        );
      }
      throw error;
    }
  } finally {
    await pool.end();
    await connection.close();
  }
}

export async function runWorker(flags: WorkerFlags): Promise<void> {
  const url = databaseUrl(flags);
  const shared = sharedPacing(flags);
  const connection = await connectCanvas(flags, {
    maxConcurrency: Math.max(4, flags.concurrency * 2),
    sharedPacing: shared,
  });
  const pool = await openDatabase(url, { max: flags.concurrency + 2 });
  const worker = startSyncWorker({
    pool,
    queueUrl: flags.queue,
    queueName: flags.queueName,
    concurrency: flags.concurrency,
    source: canvasCourseSource(connection.client),
    onCourseDone: (job, result) => {
      process.stdout.write(
        `run ${job.runId} course ${job.courseId}: ${result.alreadyDone ? "already done" : `done, ${result.changes} changes`}\n`,
      );
    },
    onCourseFailed: (job, error, willRetry) => {
      process.stderr.write(
        `run ${job.runId} course ${job.courseId}: ${(error as Error).message}${willRetry ? " (will retry)" : ""}\n`,
      );
    },
  });
  process.stderr.write(
    `easel worker: processing ${flags.concurrency} job(s) at a time from queue ${flags.queueName}, ` +
      `${shared ? "pacing on the rate-limit budget shared in Redis" : "pacing on this process's view only"}; Ctrl-C to stop.\n`,
  );
  await untilSignal();
  await worker.close();
  await pool.end();
  await connection.close();
}

function formatStatus(status: RunStatus): string {
  const c = status.courses;
  const lines = [
    `Run ${status.id} (${status.mode}): ${status.state}`,
    `  kinds:    ${status.kinds.join(", ")}`,
    `  courses:  ${c.done}/${c.total} done, ${c.running} running, ${c.pending} pending, ${c.failed} failed`,
    `  started:  ${status.startedAt.toISOString()}${status.finishedAt ? `, finished ${status.finishedAt.toISOString()}` : ""}`,
    `  rows:     ${
      Object.entries(status.counts)
        .map(([k, v]) => `${k} ${v}`)
        .join(", ") || "-"
    }`,
    `  changes:  ${status.changes}`,
  ];
  if (status.error) lines.push(`  error:    ${status.error}`);
  for (const f of status.failedCourses) lines.push(`  course ${f.courseId} failed: ${f.error}`);
  return `${lines.join("\n")}\n`;
}

/** Courses done/total, requests, retries and throttles, on stderr (TTY only). */
class SyncProgressBar {
  readonly #bar: cliProgress.SingleBar;
  constructor(total: number) {
    this.#bar = new cliProgress.SingleBar(
      {
        format:
          "sync |{bar}| {value}/{total} courses | {requests} requests | {retries} retries | {throttled} throttled | ETA {eta_formatted}",
        stream: process.stderr,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(total, 0, { requests: 0, retries: 0, throttled: 0 });
  }
  update(done: number, stats: { requests: number; retries: number; throttled: number }): void {
    this.#bar.update(done, { requests: stats.requests, retries: stats.retries, throttled: stats.throttled });
  }
  interrupt(message: string): void {
    process.stderr.write(`\n${message}\n`);
  }
  stop(): void {
    this.#bar.stop();
  }
}
