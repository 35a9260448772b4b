import {
  canvasCourseSource,
  enqueueSync,
  migrate,
  openDatabase,
  type RunStatus,
  redactDatabaseUrl,
  runStatus,
  runSync,
  SYNC_KINDS,
  type SyncKind,
  startSyncWorker,
} from "@easel/sync";
import cliProgress from "cli-progress";
import { type Command, InvalidArgumentError } from "commander";
import { CANVAS_AUTH_HELP, type CanvasFlags, connectCanvas, withCanvasOptions } from "../canvas-options.js";
import {
  type CourseSelectionFlags,
  positiveInt,
  resolveCourseIds,
  shellQuote,
  withCourseSelection,
} from "../course-options.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";

interface DatabaseFlags {
  to?: string;
  schema: string;
}

interface SyncFlags extends CanvasFlags, CourseSelectionFlags, DatabaseFlags {
  kinds: SyncKind[];
  concurrency: number;
  resume?: number;
  newRun?: boolean;
  queue?: string;
  quiet?: boolean;
}

interface WorkerFlags extends CanvasFlags, DatabaseFlags {
  queue: string;
  concurrency: number;
}

function parseKinds(value: string): SyncKind[] {
  const kinds = value
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean);
  for (const kind of kinds) {
    if (!(SYNC_KINDS as readonly string[]).includes(kind)) {
      throw new InvalidArgumentError(`unknown kind "${kind}"; kinds are ${SYNC_KINDS.join(", ")}.`);
    }
  }
  return kinds as SyncKind[];
}

function withDatabase(command: Command): Command {
  return command
    .option("--to <url>", "PostgreSQL URL (env EASEL_DATABASE_URL), e.g. postgres://easel@db/warehouse")
    .option("--schema <name>", "schema holding Easel's tables", "easel");
}

function databaseUrl(flags: DatabaseFlags): string {
  const url = flags.to ?? process.env.EASEL_DATABASE_URL;
  if (!url) throw new UsageError("--to postgres://... (or EASEL_DATABASE_URL) is required.");
  if (!/^postgres(ql)?:\/\//.test(url)) {
    throw new UsageError(`--to must be a postgres:// URL, got "${redactDatabaseUrl(url)}".`);
  }
  return url;
}

const SYNC_HELP = `
Each course (all its kinds) is fetched completely into staging, then swapped in inside one
transaction: a failure at any point (revoked token, network, kill -9) leaves that course exactly as
the previous successful run left it. Rerunning the same command resumes an unfinished run, skipping
courses already done; running it again after success changes no row and reports 0 changes.

Examples:
  # Once per database (and after upgrading easel):
  $ easel sync migrate --to postgres://easel@db/warehouse

  # Nightly: every course of a term, 4 courses at a time:
  $ easel sync --to postgres://easel@db/warehouse --all-courses --account 1 --term 3

  # Two courses, only grades and attendance:
  $ easel sync --to postgres://easel@db/warehouse --course 101,102 --kinds grades,attendance

  # Spread a term over workers (any number of processes or machines sharing Redis and the store):
  $ easel sync --to postgres://easel@db/warehouse --all-courses --term 3 --queue redis://queue:6379
  $ easel worker --to postgres://easel@db/warehouse --queue redis://queue:6379 --concurrency 4
  $ easel sync status 42 --to postgres://easel@db/warehouse

Exit codes: 0 done, 1 some course failed (rerun to resume), 2 usage, 3 re-authorization needed.
${CANVAS_AUTH_HELP}`;

/** `easel sync [migrate|status]` and `easel worker`. */
export function registerSyncCommands(program: Command): void {
  const sync = program
    .command("sync")
    .description(
      "Sync Canvas data into PostgreSQL: all or nothing per course, resumable, spread over workers.",
    )
    .addHelpText("after", SYNC_HELP);

  withCanvasOptions(
    withDatabase(
      withCourseSelection(sync.command("run", { isDefault: true }), "sync")
        .description("sync courses now (the default: `easel sync --to ...` runs this)")
        .option(
          "--kinds <list>",
          `comma-separated kinds (default all: ${SYNC_KINDS.join(",")})`,
          parseKinds,
          [...SYNC_KINDS],
        )
        .option("--concurrency <n>", "courses synced at once", positiveInt("--concurrency"), 4)
        .option(
          "--resume <runId>",
          "resume this run (default: the latest unfinished run of the same courses)",
          positiveInt("--resume"),
        )
        .option("--new-run", "start a new run even if an earlier one is unfinished")
        .option(
          "--queue <redis-url>",
          "enqueue one job per course for `easel worker` instead of syncing here",
        )
        .option("--quiet", "no progress and no summary; only errors"),
    ),
  )
    .addHelpText("after", SYNC_HELP)
    .action((flags: SyncFlags) => runSyncCommand(flags));

  withDatabase(sync.command("migrate"))
    .description("create or upgrade Easel's tables (versioned; safe to run any time)")
    .action(async (flags: DatabaseFlags) => {
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
    });

  withDatabase(sync.command("status"))
    .description("show a sync run's progress from the ledger")
    .argument("<runId>", "the run id printed by `easel sync`", positiveInt("runId"))
    .option("--json", "print the status as JSON")
    .action(async (runId: number, flags: DatabaseFlags & { json?: boolean }) => {
      const pool = await openDatabase(databaseUrl(flags));
      try {
        const status = await runStatus(pool, flags.schema, runId);
        process.stdout.write(flags.json ? `${JSON.stringify(status)}\n` : formatStatus(status));
      } finally {
        await pool.end();
      }
    });

  withCanvasOptions(withDatabase(program.command("worker")))
    .description("process sync jobs from the queue until stopped (SIGTERM/SIGINT finish the current jobs)")
    .requiredOption("--queue <redis-url>", "the Redis that `easel sync --queue` enqueued to")
    .option("--concurrency <n>", "jobs processed at once by this process", positiveInt("--concurrency"), 2)
    .addHelpText(
      "after",
      `
Run as many workers as you like, on any machines that share the queue, the database and the token
store (Redis or Vault): each course is synced exactly once per run, and the fleet refreshes the
Canvas token once per expiry.

Example:
  $ EASEL_TOKEN_STORE=redis://cache:6379 easel worker --to postgres://easel@db/warehouse \\
      --queue redis://queue:6379 --concurrency 4
${CANVAS_AUTH_HELP}`,
    )
    .action((flags: WorkerFlags) => runWorker(flags));
}

async function runSyncCommand(flags: SyncFlags): Promise<void> {
  const url = databaseUrl(flags);
  const connection = await connectCanvas(flags, { maxConcurrency: Math.max(4, flags.concurrency * 2) });
  const pool = await openDatabase(url, { max: flags.concurrency + 2 });
  try {
    const courseIds = await resolveCourseIds(connection.client, flags);
    if (flags.queue) {
      const { runId, enqueued } = await enqueueSync({
        pool,
        queueUrl: flags.queue,
        schema: flags.schema,
        courseIds,
        kinds: flags.kinds,
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
      throw error;
    }
  } finally {
    await pool.end();
    await connection.close();
  }
}

async function runWorker(flags: WorkerFlags): Promise<void> {
  const url = databaseUrl(flags);
  const connection = await connectCanvas(flags, { maxConcurrency: Math.max(4, flags.concurrency * 2) });
  const pool = await openDatabase(url, { max: flags.concurrency + 2 });
  const worker = startSyncWorker({
    pool,
    queueUrl: flags.queue,
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
  process.stderr.write(`easel worker: processing ${flags.concurrency} job(s) at a time; Ctrl-C to stop.\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once("SIGTERM", stop);
    process.once("SIGINT", stop);
  });
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
