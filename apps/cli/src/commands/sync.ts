import type { SyncKind } from "@easel/sync";
import { type Command, InvalidArgumentError, Option } from "commander";
import { CANVAS_AUTH_HELP, type CanvasFlags, withCanvasOptions } from "../canvas-options.js";
import { type CourseSelectionFlags, withCourseSelection } from "../course-options.js";
import { SYNC_KINDS } from "../kinds.js";
import { positiveInt } from "../option-parsers.js";

export interface DatabaseFlags {
  to?: string;
  schema: string;
}

export interface SyncFlags extends CanvasFlags, CourseSelectionFlags, DatabaseFlags {
  kinds: SyncKind[];
  concurrency: number;
  resume?: number;
  newRun?: boolean;
  full?: boolean;
  queue?: string;
  queueName: string;
  /** A Redis URL, `false` for `--no-shared-pacing`, or unset (the queue's Redis with `--queue`). */
  sharedPacing?: string | false;
  quiet?: boolean;
}

export interface WorkerFlags extends CanvasFlags, DatabaseFlags {
  queue: string;
  queueName: string;
  sharedPacing?: string | false;
  concurrency: number;
}

export interface StatusFlags extends DatabaseFlags {
  json?: boolean;
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

function queueName(value: string): string {
  // BullMQ refuses ":" in a queue name (it separates the parts of its Redis keys).
  if (!/^[A-Za-z0-9._-]{1,100}$/.test(value)) {
    throw new InvalidArgumentError("a queue name is 1-100 letters, digits, '.', '_' or '-'.");
  }
  return value;
}

function redisUrl(value: string): string {
  if (!/^rediss?:\/\//.test(value)) {
    throw new InvalidArgumentError("expected a redis:// or rediss:// URL, e.g. redis://cache:6379/0.");
  }
  return value;
}

/** `--queue-name` and `--shared-pacing` / `--no-shared-pacing`, on `sync` and `worker` alike. */
function withQueueOptions(command: Command, sharedDefault: string): Command {
  return command
    .addOption(
      new Option(
        "--queue-name <name>",
        "BullMQ queue name (deployments sharing one Redis each need their own)",
      )
        .env("EASEL_SYNC_QUEUE_NAME")
        .argParser(queueName)
        .default("easel-sync"),
    )
    .addOption(
      new Option(
        "--shared-pacing <redis-url>",
        `keep the Canvas rate-limit budget in this Redis, shared by every process on the same token (default: ${sharedDefault})`,
      ).argParser(redisUrl),
    )
    .option("--no-shared-pacing", "pace on this process's own view of the rate limit only");
}

function withDatabase(command: Command): Command {
  return command
    .option("--to <url>", "PostgreSQL URL (env EASEL_DATABASE_URL), e.g. postgres://easel@db/warehouse")
    .option("--schema <name>", "schema holding Easel's tables", "easel");
}

const SYNC_HELP = `
Each course (all its kinds) is fetched completely into staging, then swapped in inside one
transaction: a failure at any point (revoked token, network, kill -9) leaves that course exactly as
the previous successful run left it. Rerunning the same command resumes an unfinished run, skipping
courses already done; running it again after success changes no row and reports 0 changes.
After a complete run, a course's next run fetches only the submissions submitted or graded since
its last one (an hour of overlap) and the cheap lists whole; changes Canvas does not timestamp
(a grade removed, deletions, re-opened submissions) wait for a full run: run --full weekly.

Examples:
  # Once per database (and after upgrading easel):
  $ easel sync migrate --to postgres://easel@db/warehouse

  # Nightly (incremental after the first run): every course of a term, 4 courses at a time:
  $ easel sync --to postgres://easel@db/warehouse --all-courses --account 1 --term 3

  # Weekly full sweep of the same courses:
  $ easel sync --to postgres://easel@db/warehouse --all-courses --account 1 --term 3 --full

  # Two courses, only grades and attendance:
  $ easel sync --to postgres://easel@db/warehouse --course 101,102 --kinds grades,attendance

  # Spread a term over workers (any number of processes or machines sharing Redis and the store):
  $ easel sync --to postgres://easel@db/warehouse --all-courses --term 3 --queue redis://queue:6379
  $ easel worker --to postgres://easel@db/warehouse --queue redis://queue:6379 --concurrency 4
  $ easel sync status 42 --to postgres://easel@db/warehouse

Workers on one token share Canvas's rate limit (a leaky bucket per token): with --queue, every
process paces on one rate-limit budget kept in the queue's Redis (--shared-pacing URL for another
Redis, --no-shared-pacing to turn it off), so together they stay under the limit instead of each
filling the bucket on its own. The budget is keyed by a hash of the credential, never the token.

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

  const run = withCourseSelection(sync.command("run", { isDefault: true }), "sync")
    .description("Sync courses now (the default: `easel sync --to ...` runs this).")
    .addOption(
      new Option("--kinds <list>", `comma-separated kinds, from ${SYNC_KINDS.join(",")}`)
        .argParser(parseKinds)
        .default([...SYNC_KINDS], "all"),
    )
    .option("--concurrency <n>", "courses synced at once", positiveInt("--concurrency"), 4)
    .option(
      "--resume <runId>",
      "resume this run (default: the latest unfinished run of the same courses)",
      positiveInt("--resume"),
    )
    .option("--new-run", "start a new run even if an earlier one is unfinished")
    .option(
      "--full",
      "fetch every submission (the weekly sweep); by default a course synced before fetches only what changed",
    )
    .option("--queue <redis-url>", "enqueue one job per course for `easel worker` instead of syncing here");
  withCanvasOptions(withDatabase(withQueueOptions(run, "the --queue Redis with --queue, else off")))
    .option("--quiet", "no progress and no summary; only errors")
    .addHelpText("after", SYNC_HELP)
    .action(async (flags: SyncFlags) => (await import("../actions/sync.js")).runSyncCommand(flags));

  withDatabase(sync.command("migrate"))
    .description("Create or upgrade Easel's tables (versioned; safe to run any time).")
    .addHelpText(
      "after",
      `
Example:
  $ easel sync migrate --to postgres://easel@db/warehouse --schema easel`,
    )
    .action(async (flags: DatabaseFlags) => (await import("../actions/sync.js")).migrateDatabase(flags));

  withDatabase(sync.command("status"))
    .description("Show a sync run's progress from the ledger.")
    .addHelpText(
      "after",
      `
Examples:
  $ easel sync status 42 --to postgres://easel@db/warehouse
  $ easel sync status 42 --json | jq .courses   # with EASEL_DATABASE_URL set`,
    )
    .argument("<runId>", "the run id printed by `easel sync`", positiveInt("runId"))
    .option("--json", "print the status as JSON")
    .action(async (runId: number, flags: StatusFlags) =>
      (await import("../actions/sync.js")).showRunStatus(runId, flags),
    );

  withQueueOptions(
    withCanvasOptions(withDatabase(program.command("worker")))
      .description("Process sync jobs from the queue until stopped (SIGTERM/SIGINT finish the current jobs).")
      .requiredOption("--queue <redis-url>", "the Redis that `easel sync --queue` enqueued to")
      .option("--concurrency <n>", "jobs processed at once by this process", positiveInt("--concurrency"), 2),
    "the --queue Redis",
  )
    .addHelpText(
      "after",
      `
Run as many workers as you like, on any machines that share the queue, the database and the token
store (Redis or Vault): each course is synced exactly once per run, and the fleet refreshes the
Canvas token once per expiry. Workers pace on one rate-limit budget in the queue's Redis, so
together they stay under Canvas's limit for the token (its leaky bucket: 600 units, leaking 10 a
second) instead of each filling it; if that Redis stops answering, each worker paces on its own
view and says so once. More workers add speed until Canvas's leak rate is the limit.

Example:
  $ EASEL_TOKEN_STORE=redis://cache:6379 easel worker --to postgres://easel@db/warehouse \\
      --queue redis://queue:6379 --concurrency 4
${CANVAS_AUTH_HELP}`,
    )
    .action(async (flags: WorkerFlags) => (await import("../actions/sync.js")).runWorker(flags));
}
