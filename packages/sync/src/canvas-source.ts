import { type EnrollmentRow, type ExportClient, type ExportKind, rowsForCourse } from "@easel/export";
import type { CourseDataSource, WarehouseRow } from "./source.js";
import type { TableName } from "./tables.js";

const KIND_OF_TABLE: Partial<Record<TableName, ExportKind>> = {
  courses: "courses",
  assignments: "assignments",
  grades: "grades",
  submissions: "submissions",
  attendance: "attendance",
  engagement: "engagement",
};

/**
 * The Canvas-backed source: `@easel/export`'s row producers (fewest requests, streamed), with
 * `users` and `enrollments` sharing one walk of the course's enrollments. That walk is held per
 * course (one entry per enrollment, never per submission) until the course is released.
 */
export function canvasCourseSource(client: ExportClient): CourseDataSource {
  const enrollmentWalks = new Map<number, Promise<EnrollmentRow[]>>();

  const enrollmentsOf = (courseId: number, signal?: AbortSignal): Promise<EnrollmentRow[]> => {
    let walk = enrollmentWalks.get(courseId);
    if (!walk) {
      walk = collect(rowsForCourse(client, "enrollments", courseId, { signal }));
      enrollmentWalks.set(courseId, walk);
      walk.catch(() => enrollmentWalks.delete(courseId));
    }
    return walk;
  };

  return {
    async *rows(table, courseId, signal) {
      if (table === "users") {
        for (const e of await enrollmentsOf(courseId, signal)) {
          yield {
            user_id: e.user_id,
            name: e.user_name,
            sortable_name: e.sortable_name,
            sis_user_id: e.sis_user_id,
          };
        }
        return;
      }
      if (table === "enrollments") {
        yield* (await enrollmentsOf(courseId, signal)) as unknown as WarehouseRow[];
        return;
      }
      const kind = KIND_OF_TABLE[table];
      if (!kind) throw new TypeError(`No Canvas source for table "${table}".`);
      yield* rowsForCourse(client, kind, courseId, { signal }) as AsyncIterable<WarehouseRow>;
    },
    release(courseId) {
      enrollmentWalks.delete(courseId);
    },
  };
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
}
