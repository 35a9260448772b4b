/**
 * Canvas's grading scheme: how a score is shown for an assignment's grading type and how a
 * `posted_grade` is read back. Pure functions, no state.
 */
import type { AssignmentInfo } from "./assignments.js";

/** Canvas's default grading scheme (letter, lower bound as a fraction). */
export const DEFAULT_GRADING_SCHEME: ReadonlyArray<readonly [string, number]> = [
  ["A", 0.94],
  ["A-", 0.9],
  ["B+", 0.87],
  ["B", 0.84],
  ["B-", 0.8],
  ["C+", 0.77],
  ["C", 0.74],
  ["C-", 0.7],
  ["D+", 0.67],
  ["D", 0.64],
  ["D-", 0.61],
  ["F", 0],
];

/** The letter for a percentage (0..100+), by the default scheme. */
export function letterFor(percent: number): string {
  const fraction = Math.round(percent * 100) / 10000;
  for (const [letter, floor] of DEFAULT_GRADING_SCHEME) if (fraction >= floor) return letter;
  return "F";
}

export function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

/** The grade string Canvas shows for a score on an assignment. */
export function formatGrade(assignment: AssignmentInfo, score: number): string {
  if (assignment.gradingType === "points") return String(score);
  const percent = assignment.pointsPossible > 0 ? round2((score / assignment.pointsPossible) * 100) : 0;
  if (assignment.gradingType === "percent") return `${percent}%`;
  return letterFor(percent);
}

/**
 * Parses a `posted_grade` as Canvas does for the common forms: points ("17", "8.5"), a percentage
 * ("85%"), a letter of the default scheme, "pass"/"complete"/"fail"/"incomplete", or "" to clear.
 * Returns undefined when unparseable.
 */
export function parsePostedGrade(
  assignment: AssignmentInfo,
  posted: string,
): { score: number | null } | undefined {
  const value = posted.trim();
  if (value === "") return { score: null };
  const points = assignment.pointsPossible;
  if (/^-?\d+(\.\d+)?$/.test(value)) return { score: Number(value) };
  const percent = /^(-?\d+(\.\d+)?)%$/.exec(value);
  if (percent) return { score: round2((Number(percent[1]) * points) / 100) };
  const lower = value.toLowerCase();
  if (lower === "pass" || lower === "complete") return { score: points };
  if (lower === "fail" || lower === "incomplete") return { score: 0 };
  const index = DEFAULT_GRADING_SCHEME.findIndex(([letter]) => letter.toLowerCase() === lower);
  if (index !== -1) {
    // Canvas scores a letter at the top of its band.
    const top = index === 0 ? 1 : DEFAULT_GRADING_SCHEME[index - 1]![1] - 0.0001;
    return { score: round2(top * points) };
  }
  return undefined;
}
