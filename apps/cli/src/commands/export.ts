import type { Writable } from "node:stream";
import type { ExportFormat, ExportKind } from "@easel/export";
import { Argument, type Command, Option } from "commander";
import { CANVAS_AUTH_HELP, type CanvasFlags, withCanvasOptions } from "../canvas-options.js";
import { type CourseSelectionFlags, withCourseSelection } from "../course-options.js";
import { EXPORT_FORMATS, EXPORT_KINDS } from "../kinds.js";
import { fileMode, positiveInt } from "../option-parsers.js";

export interface ExportFlags extends CanvasFlags, CourseSelectionFlags {
  format: ExportFormat;
  out: string;
  concurrency: number;
  resume?: boolean;
  skipForbidden?: boolean;
  quiet?: boolean;
  mode: number;
}

/** Where the command writes; tests may pass their own streams. */
export interface ExportCommandContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: Writable & { isTTY?: boolean };
  stderr: Writable & { isTTY?: boolean };
}

const defaultContext = (): ExportCommandContext => ({
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});

const HELP = `
Kinds and their columns are listed in the @easel/export README. Output is sorted by course id,
then Canvas's order, whatever --concurrency is. CSV is RFC 4180 (UTF-8, CRLF, header row);
NDJSON has one JSON object per line with the same fields.

Examples:
  # Nightly CSV of every grade in a term, for all courses of the root account:
  $ easel export grades --all-courses --account 1 --term 3 --format csv --out /data/grades-2026FA.csv

  # NDJSON to stdout, piped to jq (progress and summary go to stderr):
  $ easel export submissions --course 101 --course 102 --format ndjson | jq 'select(.missing)'

  # A few courses, 8 at a time, leaving out courses the token may not read:
  $ easel export attendance --course 101,102,103 --format csv --out att.csv --concurrency 8 --skip-forbidden

  # The run was interrupted (killed, token revoked, network down): continue where it stopped.
  # The same command plus --resume; rows are never duplicated.
  $ easel export grades --all-courses --account 1 --term 3 --format csv --out /data/grades-2026FA.csv --resume

Writing to a file: rows go to FILE.partial, renamed to FILE only when every course is in, with a
checkpoint in FILE.checkpoint.json meanwhile. These files hold student records: they are created
0600 (only you can read them) unless --mode says otherwise. FILE.lock keeps a second export from
writing the same FILE at the same time. A revoked token stops the export with exit 3 and
prints the command that resumes it once a new token is in place.

Exit codes: 0 done, 1 failed (resumable when a resume command is printed), 2 usage, 3 re-authorization needed.
${CANVAS_AUTH_HELP}`;

/** `easel export <kind> ...`. */
export function registerExportCommand(
  program: Command,
  context: ExportCommandContext = defaultContext(),
): void {
  const command = program
    .command("export")
    .description("Export Canvas data for many courses as CSV or NDJSON, streaming, resumable.")
    .addArgument(new Argument("<kind>", "what to export").choices(EXPORT_KINDS));
  withCourseSelection(command, "export")
    .addOption(new Option("--format <format>", "output format").choices(EXPORT_FORMATS).makeOptionMandatory())
    .option("--out <file>", 'output file, or "-" for stdout', "-")
    .option("--concurrency <n>", "courses fetched at once", positiveInt("--concurrency"), 4)
    .option("--resume", "continue an interrupted export to --out from its checkpoint")
    .option("--skip-forbidden", "leave out (and list) courses the token may not read, instead of failing")
    .option("--quiet", "no progress and no summary; only errors and skipped courses")
    .option("--mode <octal>", "permissions of the output, partial and checkpoint files", fileMode, 0o600);
  withCanvasOptions(command)
    .addHelpText("after", HELP)
    .action(async (kind: ExportKind, flags: ExportFlags) =>
      (await import("../actions/export.js")).runExport(kind, flags, context),
    );
}
