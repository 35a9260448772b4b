/**
 * **Benchmark only**: the `loaderStrategy: "naive-per-student"` loaders, which stand for "no
 * batching, no sharing" to measure what batching saves (tooling/bench `requests-per-query`, and
 * the request-count test). Every student's enrollment, analytics summary and submissions cost a
 * request of their own, past the list cache. Never used in production.
 */
import type { Enrollment, StudentSummary, Submission } from "@easel/canvas-client";
import DataLoader from "dataloader";
import type { CanvasPort } from "./canvas-port.js";
import { asError, byStudent, bySubmissions, type StudentKey, type SubmissionsKey } from "./loader-keys.js";

/** The per-student loaders `createLoaders` swaps in for the batched ones. */
export interface PerStudentLoaders {
  enrollment: DataLoader<StudentKey, Enrollment | null, string>;
  submissions: DataLoader<SubmissionsKey, readonly Submission[], string>;
  summary: DataLoader<StudentKey, StudentSummary | null, string>;
}

type Observe = <K, V>(name: string, fn: DataLoader.BatchLoadFn<K, V>) => DataLoader.BatchLoadFn<K, V>;

/** One request per key, each key's failure in its own slot. */
function eachKey<K, V>(load: (key: K) => Promise<V>): DataLoader.BatchLoadFn<K, V> {
  return (keys) => Promise.all(keys.map((key) => load(key).catch(asError)));
}

export function naivePerStudentLoaders(
  canvas: CanvasPort,
  signal: AbortSignal | undefined,
  observe: Observe,
): PerStudentLoaders {
  return {
    enrollment: new DataLoader(
      observe(
        "enrollment",
        eachKey(async ({ courseId, studentId }: StudentKey) => {
          const rows = await canvas.studentEnrollments(courseId, studentId, signal);
          return rows.find((row) => row.user_id === studentId) ?? null;
        }),
      ),
      byStudent,
    ),
    submissions: new DataLoader(
      observe(
        "submissions",
        eachKey(async ({ courseId, studentId, assignmentIds }: SubmissionsKey) => {
          const filter = assignmentIds.length > 0 ? assignmentIds : undefined;
          const rows = await canvas.groupedSubmissions(courseId, [studentId], filter, signal);
          return rows.find((row) => row.user_id === studentId)?.submissions ?? [];
        }),
      ),
      bySubmissions,
    ),
    summary: new DataLoader(
      observe(
        "summary",
        eachKey(async ({ courseId, studentId }: StudentKey) => {
          const rows = await canvas.studentSummaries(courseId, studentId, signal);
          return rows.find((row) => row.id === studentId) ?? null;
        }),
      ),
      byStudent,
    ),
  };
}
