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
