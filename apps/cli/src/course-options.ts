import { type ExportClient, listCourseIds } from "@easel/export";
import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "./exit-codes.js";

/** A commander parser for a positive integer flag, naming the flag on error. */
export function positiveInt(what: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n <= 0) {
      throw new InvalidArgumentError(`${what} must be a positive integer.`);
    }
    return n;
  };
}

/** `--course 1 2`, `--course 1 --course 2` and `--course 1,2` all collect. */
export function collectCourses(value: string, previous: number[] | undefined): number[] {
  const parse = positiveInt("A course id");
  const ids = value
    .split(",")
    .map((part) => part.trim())
    .filter(Boolean)
    .map(parse);
  return [...(previous ?? []), ...ids];
}

export interface CourseSelectionFlags {
  course?: number[];
  allCourses?: boolean;
  term?: number;
  account?: number;
}

/** Adds `--course`, `--all-courses`, `--term` and `--account`. */
export function withCourseSelection(command: Command, verb: string): Command {
  return command
    .option("--course <ids...>", `course id(s) to ${verb} (repeatable, or comma-separated)`, collectCourses)
    .option("--all-courses", "every course of --account (or the token user's courses)")
    .option("--term <id>", "with --all-courses: only this enrollment term", positiveInt("--term"))
    .option(
      "--account <id>",
      "with --all-courses: this account and its sub-accounts (needs an admin)",
      positiveInt("--account"),
    );
}

/** The course ids a selection names, sorted ascending; listing Canvas for `--all-courses`. */
export async function resolveCourseIds(client: ExportClient, flags: CourseSelectionFlags): Promise<number[]> {
  const courses = flags.course ?? [];
  if (courses.length > 0 && flags.allCourses)
    throw new UsageError("Use either --course or --all-courses, not both.");
  if (courses.length === 0 && !flags.allCourses)
    throw new UsageError("Name courses with --course ID or use --all-courses.");
  if (!flags.allCourses && (flags.term !== undefined || flags.account !== undefined)) {
    throw new UsageError("--term and --account go with --all-courses.");
  }
  if (courses.length > 0) return [...new Set(courses)].sort((a, b) => a - b);
  return listCourseIds(client, { accountId: flags.account, termId: flags.term });
}

/** Quotes an argument for a printed shell command. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
