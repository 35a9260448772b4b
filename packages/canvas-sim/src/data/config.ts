/** What every generated-data module shares: the dimensions, time units and per-course state. */
import type { NormalizedOptions } from "../options.js";

/** The dimensions and seed of the data; `now` is the clock's start: data are generated relative to it and never move. */
export type ModelConfig = Pick<
  NormalizedOptions,
  | "seed"
  | "courses"
  | "studentsPerCourse"
  | "assignmentsPerCourse"
  | "teachersPerCourse"
  | "tasPerCourse"
  | "now"
>;

export const DAY = 86_400_000;
export const HOUR = 3_600_000;

/** Canvas keeps timestamps to the second. */
export function floorToSecond(ms: number): number {
  return Math.floor(ms / 1000) * 1000;
}

/** A module's lazily filled state per course (caches of generated data), created empty on first use. */
export class PerCourse<T extends object> {
  readonly #byCourse = new Map<number, T>();

  get(courseId: number): T {
    let entry = this.#byCourse.get(courseId);
    if (!entry) {
      entry = {} as T;
      this.#byCourse.set(courseId, entry);
    }
    return entry;
  }
}
