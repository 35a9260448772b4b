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

/** What an incremental run asks for: every submission changed after `since`, plus whole slices. */
export interface SubmissionChangesRequest {
  /** Submitted or graded strictly after this time (Canvas's `submitted_since` / `graded_since`). */
  since: Date;
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
  submissionChanges(
    courseId: number,
    request: SubmissionChangesRequest,
    signal?: AbortSignal,
  ): AsyncIterable<WarehouseRow>;
  /** The user ids whose submissions `rows("submissions")` lists: the course's students. */
  studentIds(courseId: number, signal?: AbortSignal): Promise<readonly number[]>;
}

export function isIncrementalSource(source: CourseDataSource): source is IncrementalCourseDataSource {
  const candidate = source as Partial<IncrementalCourseDataSource>;
  return typeof candidate.submissionChanges === "function" && typeof candidate.studentIds === "function";
}
