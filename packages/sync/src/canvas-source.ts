import { canvasEndpoints } from "@easel/canvas-client";
import {
  type EnrollmentRow,
  type ExportClient,
  type ExportKind,
  rowsForCourse,
  submissionRow,
} from "@easel/export";
import type { IncrementalCourseDataSource, WarehouseRow } from "./source.js";
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
 *
 * The kinds built on the course's student enrollments (grades, attendance, engagement) ask Canvas for
 * the same list: one walk serves them all, held until the course is released.
 *
 * Incremental runs read submissions through `submitted_since` and `graded_since` as two requests,
 * run at once: Canvas ANDs the two filters when both are given (two WHEREs on one scope), and a
 * change is either.
 */
export function canvasCourseSource(client: ExportClient): IncrementalCourseDataSource {
  const shared = sharingEnrollmentLists(client);
  client = shared.client;
  const api = canvasEndpoints(client);
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
    async *changedSubmissions(courseId, since, signal) {
      // The graded ones load while the submitted ones stream: a day's changes, not the course.
      const graded = collect(
        api.submissions.forStudents(courseId, { studentIds: "all", gradedSince: since }, { signal }),
      );
      graded.catch(() => undefined);
      const submitted = api.submissions.forStudents(
        courseId,
        { studentIds: "all", submittedSince: since },
        { signal },
      );
      for await (const s of submitted) yield submissionRow(courseId, s);
      for (const s of await graded) yield submissionRow(courseId, s);
    },
    async *submissionsOf(courseId, request, signal) {
      if (request.studentIds.length > 0) {
        const pages = api.submissions.forStudents(courseId, { studentIds: request.studentIds }, { signal });
        for await (const s of pages) yield submissionRow(courseId, s);
      }
      if (request.assignmentIds.length > 0) {
        const pages = api.submissions.forStudents(
          courseId,
          { studentIds: "all", assignmentIds: request.assignmentIds },
          { signal },
        );
        for await (const s of pages) yield submissionRow(courseId, s);
      }
    },
    async studentIds(courseId, signal) {
      const students = new Set<number>();
      for (const e of await enrollmentsOf(courseId, signal)) {
        if (e.type === "StudentEnrollment") students.add(e.user_id);
      }
      return [...students];
    },
    release(courseId) {
      enrollmentWalks.delete(courseId);
      shared.release(courseId);
    },
  };
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
}

/**
 * The client, with each course's enrollment lists walked once per set of parameters: concurrent and
 * later identical walks share the first one's rows until `release(courseId)`.
 */
function sharingEnrollmentLists(client: ExportClient): {
  client: ExportClient;
  release(courseId: number): void;
} {
  const walks = new Map<string, { courseId: number; rows: Promise<unknown[]> }>();
  const paginate = async function* (...args: Parameters<ExportClient["paginate"]>) {
    const [path, params, options] = args;
    const courseId = /\/courses\/(\d+)\/enrollments$/.exec(path)?.[1];
    if (courseId === undefined) {
      yield* client.paginate(...args);
      return;
    }
    const key = `${path}?${JSON.stringify(params ?? {})}`;
    let walk = walks.get(key);
    if (!walk) {
      walk = { courseId: Number(courseId), rows: collect(client.paginate(path, params, options)) };
      walks.set(key, walk);
      walk.rows.catch(() => walks.delete(key));
    }
    yield* await walk.rows;
  } as ExportClient["paginate"];
  return {
    client: {
      paginate,
      request: client.request.bind(client),
      resolve: client.resolve.bind(client),
      options: client.options,
      stats: client.stats.bind(client),
    },
    release(courseId) {
      for (const [key, walk] of walks) if (walk.courseId === courseId) walks.delete(key);
    },
  };
}
