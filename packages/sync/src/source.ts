import type { TableName } from "./tables.js";

/** A row as the warehouse stores it: column name to value (missing columns become NULL). */
export type WarehouseRow = Readonly<Record<string, unknown>>;

/**
 * Where a course's rows come from. The Canvas-backed source streams them from the REST API;
 * tests may pass any other. Rows are streamed, never collected: a course with a million
 * submissions flows through staging, not RAM.
 */
export interface CourseDataSource {
  rows(table: TableName, courseId: number, signal?: AbortSignal): AsyncIterable<WarehouseRow>;
  /** Called when a course is finished with (done or failed): drop anything held for it. */
  release?(courseId: number): void;
}

/** Whole slices of a course's submissions an incremental run fetches. */
export interface SubmissionSlices {
  /** Students the warehouse has no submissions of (new or re-enrolled): all of theirs. */
  studentIds: readonly number[];
  /** Assignments the warehouse has no submissions of (new or newly published): all of theirs. */
  assignmentIds: readonly number[];
}

/**
 * A source that can serve an incremental run. Without these methods every run is a full run.
 * Rows may repeat (the warehouse keeps the newest per key).
 */
export interface IncrementalCourseDataSource extends CourseDataSource {
  /** Submissions submitted or graded strictly after `since` (Canvas's `submitted_since` / `graded_since`). */
  changedSubmissions(courseId: number, since: Date, signal?: AbortSignal): AsyncIterable<WarehouseRow>;
  /** Every submission of these students and of these assignments. */
  submissionsOf(
    courseId: number,
    slices: SubmissionSlices,
    signal?: AbortSignal,
  ): AsyncIterable<WarehouseRow>;
  /** The user ids whose submissions `rows("submissions")` lists: the course's students. */
  studentIds(courseId: number, signal?: AbortSignal): Promise<readonly number[]>;
}

export function isIncrementalSource(source: CourseDataSource): source is IncrementalCourseDataSource {
  const candidate = source as Partial<IncrementalCourseDataSource>;
  return (
    typeof candidate.changedSubmissions === "function" &&
    typeof candidate.submissionsOf === "function" &&
    typeof candidate.studentIds === "function"
  );
}
