import {
  type CanvasEndpoints,
  canvasEndpoints,
  type Params,
  type Submission,
  submissionsPlan,
} from "@easel/canvas-client";
import {
  type EnrollmentRow,
  type ExportClient,
  type ExportKind,
  publishedAssignmentOrder,
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
 * The Canvas-backed source: `@easel/export`'s row producers (fewest requests, least Canvas work,
 * streamed: submissions in the form `submissionsPlan` chooses), with `users` and `enrollments` sharing
 * one walk of the course's enrollments, and the submissions' page sizing sharing the assignments walk. That walk is held per
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
  const shared = sharingCourseLists(client);
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
    // Flat, not grouped: in the grouped form Canvas pages every student and applies `*_since` only to
    // each page's submissions (canvas:app/controllers/submissions_api_controller.rb `for_students`:
    // `Api.paginate(student_scope)`, then `submissions_scope.where("submitted_at>?")`), so a day's
    // changes would cost a page per 100 students plus an entry per student; flat pages serve only them.
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
      // Each slice in its cheapest form: new students with all the course's assignments, new
      // assignments with all its students (the assignments and the roster are walks the run shares).
      if (request.studentIds.length > 0) {
        const assignments = (await publishedAssignmentOrder(api, courseId, signal)).size;
        const plan = submissionsPlan({ assignments, students: request.studentIds.length });
        const slice = { studentIds: request.studentIds, perPage: plan.perPage };
        for await (const s of submissionsIn(api, courseId, plan.form, slice, signal)) {
          yield submissionRow(courseId, s);
        }
      }
      if (request.assignmentIds.length > 0) {
        const students = new Set<number>();
        for (const e of await enrollmentsOf(courseId, signal)) {
          if (e.type === "StudentEnrollment") students.add(e.user_id);
        }
        const plan = submissionsPlan({ assignments: request.assignmentIds.length, students: students.size });
        const slice = {
          studentIds: "all" as const,
          assignmentIds: request.assignmentIds,
          perPage: plan.perPage,
        };
        for await (const s of submissionsIn(api, courseId, plan.form, slice, signal)) {
          yield submissionRow(courseId, s);
        }
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

/** One slice of a course's submissions, in the form given, as a stream of submissions. */
async function* submissionsIn(
  api: CanvasEndpoints,
  courseId: number,
  form: "grouped" | "flat",
  slice: { studentIds: "all" | readonly number[]; assignmentIds?: readonly number[]; perPage: number },
  signal?: AbortSignal,
): AsyncIterable<Submission> {
  if (form === "flat") {
    yield* api.submissions.forStudents(courseId, slice, { signal });
    return;
  }
  for await (const student of api.submissions.forStudents(
    courseId,
    { ...slice, grouped: true },
    { signal },
  )) {
    yield* student.submissions;
  }
}

async function collect<T>(rows: AsyncIterable<T>): Promise<T[]> {
  const all: T[] = [];
  for await (const row of rows) all.push(row);
  return all;
}

/**
 * The client, with each course's enrollment and assignment lists walked once per set of parameters
 * (the student enrollments and an assignment search filtered from the walk of all of them): concurrent and later identical
 * walks share the first one's rows until `release(courseId)`. (The submissions kind lists the
 * assignments to size its pages; the assignments table lists them too.)
 */
function sharingCourseLists(client: ExportClient): {
  client: ExportClient;
  release(courseId: number): void;
} {
  const walks = new Map<string, { courseId: number; rows: Promise<unknown[]> }>();
  const paginate = async function* (...args: Parameters<ExportClient["paginate"]>) {
    const [path, params, options] = args;
    const courseId = /\/courses\/(\d+)\/(?:enrollments|assignments)$/.exec(path)?.[1];
    if (courseId === undefined) {
      yield* client.paginate(...args);
      return;
    }
    const shared = (query: typeof params): { courseId: number; rows: Promise<unknown[]> } => {
      const key = `${path}?${JSON.stringify(query ?? {})}`;
      let walk = walks.get(key);
      if (!walk) {
        walk = { courseId: Number(courseId), rows: collect(client.paginate(path, query, options)) };
        walks.set(key, walk);
        walk.rows.catch(() => walks.delete(key));
      }
      return walk;
    };
    // The student enrollments (grades, attendance, engagement) are a filter of the walk of every
    // enrollment (users, enrollments): Canvas lists both in the same order (type, name, id), so the
    // filtered walk is that one's students, without asking Canvas twice.
    const { type, ...rest }: Params = params ?? {};
    if (
      path.endsWith("/enrollments") &&
      Array.isArray(type) &&
      type.length === 1 &&
      type[0] === "StudentEnrollment"
    ) {
      const all = await shared(rest).rows;
      yield* all.filter((e) => (e as { type?: unknown }).type === "StudentEnrollment");
      return;
    }
    // Likewise an assignment search (Roll Call's, for attendance) is a filter of the walk of every
    // assignment: Canvas's `search_term` matches a part of the name, case-insensitively.
    const { search_term: term, ...others }: Params = params ?? {};
    if (path.endsWith("/assignments") && typeof term === "string") {
      const all = await shared(others).rows;
      const wanted = term.toLowerCase();
      yield* all.filter((a) =>
        String((a as { name?: unknown }).name ?? "")
          .toLowerCase()
          .includes(wanted),
      );
      return;
    }
    yield* await shared(params).rows;
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
