import type { Command } from "commander";
import { UsageError } from "./exit-codes.js";
import { positiveInt } from "./option-parsers.js";

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

/**
 * Checks that the flags name courses one way: the `--course` ids (deduplicated, ascending), or
 * `[]` for `--all-courses`, which the caller lists from Canvas.
 */
export function checkCourseSelection(flags: CourseSelectionFlags): number[] {
  const courses = flags.course ?? [];
  if (courses.length > 0 && flags.allCourses)
    throw new UsageError("Use either --course or --all-courses, not both.");
  if (courses.length === 0 && !flags.allCourses)
    throw new UsageError("Name the courses: --course ID... or --all-courses.");
  if (!flags.allCourses && (flags.term !== undefined || flags.account !== undefined)) {
    throw new UsageError("--term and --account go with --all-courses.");
  }
  return [...new Set(courses)].sort((a, b) => a - b);
}

/** Quotes an argument for a printed shell command. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replaceAll("'", "'\\''")}'`;
}
