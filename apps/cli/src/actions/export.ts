import { resolve } from "node:path";
import {
  checkExportOutput,
  EXPORT_ABORTED,
  EXPORT_OUTPUT_LOCKED,
  EXPORT_REAUTH_REQUIRED,
  ExportError,
  type ExportKind,
  type ExportProgress,
  type ExportSummary,
  exportCourses,
  exportPaths,
  listCourseIds,
  readCheckpoint,
} from "@easel/export";
import { STORE_UNAVAILABLE } from "@easel/token-store";
import cliProgress from "cli-progress";
import type { ExportCommandContext, ExportFlags } from "../commands/export.js";
import { checkCourseSelection, shellQuote } from "../course-options.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { connectCanvas } from "./canvas.js";

export async function runExport(
  kind: ExportKind,
  flags: ExportFlags,
  context: ExportCommandContext,
): Promise<void> {
  const courses = checkCourseSelection(flags);
  const toStdout = flags.out === "-";
  if (flags.resume && toStdout) throw new UsageError("--resume needs --out FILE (stdout cannot be resumed).");
  // Before any Canvas request: a typo in --out must not cost a whole export.
  if (!toStdout) {
    await checkExportOutput(flags.out).catch((error: unknown) => {
      // A missing directory or a directory as --out is the command line's mistake; a lock is not.
      if (error instanceof ExportError && error.code !== EXPORT_OUTPUT_LOCKED) {
        throw new UsageError(`--out: ${error.message}`, { cause: error });
      }
      throw toCliError(error, "", "");
    });
  }

  const connection = await connectCanvas(flags, {
    env: context.env,
    maxConcurrency: Math.min(64, Math.max(8, flags.concurrency * 2)),
  });
  const resumeCommand = buildResumeCommand(kind, flags, connection.flags);
  const remedy = connection.remedy;
  const abort = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => abort.abort(new Error(`received ${signal}`));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let progress: ProgressDisplay | undefined;
  try {
    let courseIds = courses;
    if (flags.allCourses) {
      // A resumed --all-courses run keeps the course list it started with (courses may have been
      // created since); listing again could change the plan under the checkpoint.
      const checkpoint = flags.resume
        ? await readCheckpoint(exportPaths(resolve(flags.out)).checkpoint)
        : undefined;
      courseIds =
        checkpoint?.kind === kind
          ? checkpoint.courseIds
          : await listCourseIds(connection.client, {
              accountId: flags.account,
              termId: flags.term,
              signal: abort.signal,
            });
    }
    progress =
      !flags.quiet && context.stderr.isTTY
        ? new ProgressDisplay(context.stderr, kind, courseIds.length)
        : undefined;
    const summary = await exportCourses({
      client: connection.client,
      kind,
      courseIds,
      format: flags.format,
      output: toStdout ? context.stdout : flags.out,
      concurrency: flags.concurrency,
      resume: flags.resume ?? false,
      skipForbidden: flags.skipForbidden ?? false,
      fileMode: flags.mode,
      onProgress: progress ? (p) => progress!.update(p) : undefined,
      signal: abort.signal,
    });
    progress?.stop();
    for (const skipped of summary.skipped) {
      context.stderr.write(`easel: skipped course ${skipped.id}: [${skipped.code}] ${skipped.message}\n`);
    }
    if (!flags.quiet) context.stderr.write(`${formatSummary(summary)}\n`);
  } catch (error) {
    progress?.stop();
    throw toCliError(error, resumeCommand, remedy);
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await connection.close().catch(() => {});
  }
}

function toCliError(error: unknown, resumeCommand: string, remedy: string): unknown {
  if (!(error instanceof ExportError)) return error;
  const lines = [error.message];
  if (error.resumable) {
    lines.push(
      `${error.coursesCompleted} course(s) are saved in ${error.partialPath}; the checkpoint is ${error.checkpointPath}.`,
    );
  }
  if (error.code === EXPORT_REAUTH_REQUIRED) {
    lines.push(`First, ${remedy}.`);
    if (error.resumable) lines.push("Then resume with:", `  ${resumeCommand}`);
    return new CliExit(EXIT_REAUTH, lines.join("\n"), { cause: error });
  }
  if (error.resumable)
    lines.push(
      error.code === EXPORT_ABORTED ? "Resume with:" : "Fix the cause, then resume with:",
      `  ${resumeCommand}`,
    );
  const shown = causedBy(error, STORE_UNAVAILABLE) ? STORE_UNAVAILABLE : error.code;
  return new CliExit(EXIT_FAILURE, `[${shown}] ${lines.join("\n")}`, { cause: error });
}

/** Whether `code` is somewhere on `error`'s cause chain (a course failed because the store is down). */
function causedBy(error: Error, code: string): boolean {
  for (let current: unknown = error.cause, depth = 0; current instanceof Error && depth < 10; depth++) {
    if ((current as { code?: unknown }).code === code) return true;
    current = current.cause;
  }
  return false;
}

/** The same export with --resume: what to run after an interruption. Never holds a secret. */
function buildResumeCommand(kind: ExportKind, flags: ExportFlags, connectionFlags: string[]): string {
  const args = ["easel", "export", kind];
  if (flags.allCourses) {
    args.push("--all-courses");
    if (flags.account !== undefined) args.push("--account", String(flags.account));
    if (flags.term !== undefined) args.push("--term", String(flags.term));
  } else {
    args.push("--course", [...new Set(flags.course ?? [])].sort((a, b) => a - b).join(","));
  }
  args.push("--format", flags.format, "--out", flags.out);
  if (flags.concurrency !== 4) args.push("--concurrency", String(flags.concurrency));
  if (flags.skipForbidden) args.push("--skip-forbidden");
  if (flags.quiet) args.push("--quiet");
  if (flags.mode !== 0o600) args.push("--mode", `0${flags.mode.toString(8)}`);
  args.push(...connectionFlags, "--resume");
  return args.map(shellQuote).join(" ");
}

const numberFormat = new Intl.NumberFormat("en-US");

function formatDuration(ms: number): string {
  const seconds = ms / 1000;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${Math.round(seconds % 60)} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** The one line printed at the end of every export (unless --quiet). */
export function formatSummary(summary: ExportSummary): string {
  const skipped =
    summary.skipped.length > 0
      ? `, ${summary.skipped.length} skipped (${summary.skipped.map((s) => s.id).join(", ")})`
      : "";
  const resumed = summary.coursesResumed > 0 ? `, ${summary.coursesResumed} from the earlier run` : "";
  const c = summary.client;
  return (
    `easel: exported ${numberFormat.format(summary.rows)} ${summary.kind} rows from ` +
    `${summary.coursesExported}/${summary.coursesTotal} courses${resumed}${skipped} to ` +
    `${summary.output === "-" ? "stdout" : summary.output} (${summary.format}) in ${formatDuration(summary.elapsedMs)}; ` +
    `${numberFormat.format(Math.round(summary.rowsPerSecond))} rows/s, ${c.requests} requests, ` +
    `${c.retries} retries, ${c.throttled} throttled`
  );
}

/** The cli-progress bar on stderr (TTY only). */
class ProgressDisplay {
  readonly #bar: cliProgress.SingleBar;
  #stopped = false;

  constructor(stream: NodeJS.WritableStream, kind: string, total: number) {
    this.#bar = new cliProgress.SingleBar(
      {
        stream,
        format:
          `${kind} [{bar}] {value}/{total} courses | {rows} rows | {rate} rows/s | ETA {etaText}` +
          " | {retries} retries | {throttled} throttled",
        hideCursor: true,
        clearOnComplete: true,
        fps: 5,
        barsize: 20,
      },
      cliProgress.Presets.shades_classic,
    );
    this.#bar.start(total, 0, { rows: "0", rate: "0", etaText: "?", retries: 0, throttled: 0 });
  }

  update(p: ExportProgress): void {
    if (this.#stopped) return;
    this.#bar.update(p.coursesDone, {
      rows: numberFormat.format(p.rows),
      rate: numberFormat.format(Math.round(p.rowsPerSecond)),
      etaText: p.etaMs === undefined ? "?" : formatDuration(p.etaMs),
      retries: p.client.retries,
      throttled: p.client.throttled,
    });
  }

  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#bar.stop();
  }
}
