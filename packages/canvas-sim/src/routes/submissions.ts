import { assignmentJson, escapeBase, submissionJson, submissionJsonText } from "../data/json.js";
import type { SubmissionRow } from "../data/submissions.js";
import { badRequest, json, notFound, type Reply, ReplyError, rawJson } from "../http/reply.js";
import { decodeBookmark, encodeBookmark, linkHeader, perPageOf } from "../pagination.js";
import {
  ANYONE_IN_COURSE,
  accessTo,
  courseParam,
  GRADERS,
  parseId,
  type RequestContext,
  type RouteDef,
  requireAccess,
  unauthorized,
} from "../runtime.js";
import { collectionUrl, includes, ordinalPageText } from "./common.js";

/** canvas:lib/api.rb `ISO8601_REGEX`. */
const ISO8601 =
  /^[0-9]{4}-(1[0-2]|0[1-9])-(3[01]|0[1-9]|[12][0-9])T(2[0-3]|[01][0-9]):[0-5][0-9]:[0-5][0-9](\.[0-9]+)?(Z|[+-](2[0-3]|[01][0-9])(:?[0-5][0-9])?)?$/;

interface RowFilter {
  workflowState: string | undefined;
  submittedSince: number | undefined;
  gradedSince: number | undefined;
}

function matches(row: SubmissionRow, filter: RowFilter): boolean {
  if (filter.workflowState !== undefined && row.workflowState !== filter.workflowState) return false;
  if (
    filter.submittedSince !== undefined &&
    !(row.submittedAt !== null && row.submittedAt > filter.submittedSince)
  ) {
    return false;
  }
  if (filter.gradedSince !== undefined && !(row.gradedAt !== null && row.gradedAt > filter.gradedSince)) {
    return false;
  }
  return true;
}

/** Maps API user ids (numeric, `sis_user_id:X`, `self`) to user ids; unknown SIS ids are dropped. */
export function mapUserIds(ctx: RequestContext, values: string[]): number[] {
  const ids: number[] = [];
  for (const value of values) {
    if (value === "self") ids.push(ctx.user!.id);
    else if (value.startsWith("sis_user_id:")) {
      const user = ctx.rt.model.people.userBySis(value.slice("sis_user_id:".length));
      if (user) ids.push(user.id);
    } else {
      const id = parseId(value);
      ids.push(id ?? -1);
    }
  }
  return ids;
}

/** Parses `*_since`, or answers Canvas's 400. */
function sinceParam(ctx: RequestContext, name: "submitted_since" | "graded_since"): number | undefined {
  const raw = ctx.params.get(name);
  if (raw === undefined || raw === "") return undefined;
  if (!ISO8601.test(raw)) throw badRequest({ errors: { [name]: `Invalid datetime for ${name}` } });
  return Date.parse(raw);
}

/** A renderer of one submission as JSON text, honouring include[]=user|assignment. */
function submissionRenderer(ctx: RequestContext, courseId: number): (row: SubmissionRow) => string {
  const include = includes(ctx);
  const { model } = ctx.rt;
  const withUser = include.has("user");
  const withAssignment = include.has("assignment");
  // Canvas's `exclude_response_fields[]=preview_url` drops the (last, longest) field.
  const noPreview = ctx.params.getAll("exclude_response_fields").includes("preview_url");
  if (!withUser && !withAssignment) {
    const escaped = escapeBase(ctx.base);
    if (noPreview) {
      return (row) => {
        const text = submissionJsonText(row, escaped);
        return `${text.slice(0, text.lastIndexOf(',"preview_url":'))}}`;
      };
    }
    return (row) => submissionJsonText(row, escaped);
  }
  const assignmentCache = new Map<number, Record<string, unknown>>();
  return (row) => {
    let assignment: Record<string, unknown> | undefined;
    if (withAssignment) {
      assignment = assignmentCache.get(row.assignmentIndex);
      if (!assignment) {
        assignment = assignmentJson(
          model,
          model.assignments.ofCourse(courseId)[row.assignmentIndex]!,
          ctx.base,
        );
        assignmentCache.set(row.assignmentIndex, assignment);
      }
    }
    const json = submissionJson(row, ctx.base, {
      user: withUser ? model.people.user(row.userId) : undefined,
      assignment,
    });
    if (noPreview) delete json.preview_url;
    return JSON.stringify(json);
  };
}

/**
 * GET /api/v1/courses/:course_id/students/submissions (canvas:app/controllers/submissions_api_controller.rb
 * `for_students`). Ungrouped: submissions ordered by id = (assignment position, student user id),
 * bookmark-paginated (`bookmark:` + base64url JSON `[last id]`, no rel="last"). Grouped: students by
 * id, numeric pages with rel="last", each with every matching submission in assignment order.
 */
function forStudents(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const { model } = rt;
  const course = courseParam(ctx);
  const caller = ctx.user!;
  const access = accessTo(rt, caller.id, course.id);
  const canViewAll = access === "admin" || access === "staff";
  const requested = ctx.params.getAll("student_ids");
  const all = requested.includes("all");
  let explicit: number[] | null = null; // student indexes; null = every student
  if (!all) {
    let ids = mapUserIds(ctx, requested);
    if (ids.length === 0) ids = [caller.id];
    explicit = ids.map((id) => model.people.studentIndex(course.id, id));
    if (canViewAll) {
      if (explicit.includes(-1)) throw unauthorized(rt);
    } else {
      const own = model.people.studentIndex(course.id, caller.id);
      if (access !== "student" || own === -1 || ids.some((id) => id !== caller.id)) throw unauthorized(rt);
    }
  } else if (!canViewAll) {
    if (access !== "student") throw unauthorized(rt);
    explicit = [model.people.studentIndex(course.id, caller.id)];
  }
  if (explicit !== null && !all && explicit.length > 100) throw badRequest({ error: "too many students" });
  // A dropped student's enrollment is deleted: Canvas's `all_student_enrollments` no longer has them,
  // so `all` skips them and naming them is naming an inaccessible student.
  const dropped = model.people.droppedStudents(course.id);
  if (dropped.length > 0) {
    const gone = new Set(dropped);
    if (explicit === null) {
      explicit = Array.from({ length: model.studentsPerCourse }, (_, k) => k).filter((k) => !gone.has(k));
    } else if (!all && canViewAll && explicit.some((k) => gone.has(k))) throw unauthorized(rt);
    else explicit = explicit.filter((k) => !gone.has(k));
  }

  const enrollmentState = ctx.params.get("enrollment_state");
  if (enrollmentState) {
    const wanted =
      enrollmentState === "active" ? "active" : enrollmentState === "concluded" ? "completed" : null;
    if (wanted === null) throw badRequest({ error: "invalid enrollment_state" });
    const base = explicit ?? Array.from({ length: model.studentsPerCourse }, (_, k) => k);
    explicit = base.filter((k) => model.people.studentState(course.id, k) === wanted);
  }
  const students = explicit === null ? null : Int32Array.from(new Set(explicit)).sort((a, b) => a - b);

  const requestedAssignments = ctx.params.getAll("assignment_ids");
  let assignmentIndexes: Int32Array;
  if (requestedAssignments.length > 0) {
    const indexes = requestedAssignments.map((raw) => {
      const id = parseId(raw);
      return id === null ? -1 : model.assignments.index(course.id, id);
    });
    if (indexes.includes(-1)) {
      throw new ReplyError(json(403, { error: "invalid assignment ids requested" }));
    }
    assignmentIndexes = Int32Array.from(new Set(indexes)).sort((a, b) => a - b);
  } else {
    assignmentIndexes = model.assignments.allIndexes();
  }
  const filter: RowFilter = {
    workflowState: ctx.params.get("workflow_state") || undefined,
    submittedSince: sinceParam(ctx, "submitted_since"),
    gradedSince: sinceParam(ctx, "graded_since"),
  };
  const render = submissionRenderer(ctx, course.id);
  if (ctx.params.has("grouped")) {
    return groupedPage(ctx, course.id, students, assignmentIndexes, filter, render, canViewAll);
  }
  return flatPage(ctx, course.id, students, assignmentIndexes, filter, render);
}

/** First index in a sorted array whose value is > `value`. */
function upperBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function lowerBound(sorted: Int32Array, value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function flatPage(
  ctx: RequestContext,
  courseId: number,
  students: Int32Array | null,
  assignments: Int32Array,
  filter: RowFilter,
  render: (row: SubmissionRow) => string,
): Reply {
  const { model } = ctx.rt;
  const perPage = perPageOf(ctx.params);
  const pageParam = ctx.params.get("page");
  const studentCount = students === null ? model.studentsPerCourse : students.length;
  let a = 0;
  let s = 0;
  const bookmark = decodeBookmark(pageParam);
  if (Array.isArray(bookmark) && typeof bookmark[0] === "number") {
    const position = model.submissions.position(courseId, bookmark[0]);
    if (position) {
      const [assignmentIndex, studentIndex] = position;
      a = lowerBound(assignments, assignmentIndex);
      if (a < assignments.length && assignments[a] === assignmentIndex) {
        s = students === null ? studentIndex + 1 : upperBound(students, studentIndex);
      }
    } else if (
      bookmark[0] >
      model.submissions.id(courseId, model.assignmentsPerCourse - 1, model.studentsPerCourse - 1)
    ) {
      a = assignments.length;
    }
  }
  const filtered =
    filter.workflowState !== undefined ||
    filter.submittedSince !== undefined ||
    filter.gradedSince !== undefined;
  const rows: string[] = [];
  let lastId = -1;
  let more = false;
  outer: for (; a < assignments.length; a++, s = 0) {
    const assignmentIndex = assignments[a]!;
    for (; s < studentCount; s++) {
      const studentIndex = students === null ? s : students[s]!;
      const row = model.submissions.row(courseId, assignmentIndex, studentIndex);
      if (filtered && !matches(row, filter)) continue;
      if (rows.length === perPage) {
        more = true;
        break outer;
      }
      rows.push(render(row));
      lastId = row.id;
    }
  }
  const links = {
    current: pageParam ?? "first",
    next: more ? encodeBookmark([lastId]) : undefined,
    first: "first",
  };
  const link = linkHeader(collectionUrl(ctx), ctx.queryPairs, links, perPage);
  return rawJson(200, `[${rows.join(",")}]`, { Link: link }, rows.length);
}

function groupedPage(
  ctx: RequestContext,
  courseId: number,
  students: Int32Array | null,
  assignments: Int32Array,
  filter: RowFilter,
  render: (row: SubmissionRow) => string,
  canViewAll: boolean,
): Reply {
  const { model } = ctx.rt;
  const course = model.catalog.course(courseId)!;
  const totalScores = includes(ctx).has("total_scores");
  const total = students === null ? model.studentsPerCourse : students.length;
  let served = 0;
  const reply = ordinalPageText(ctx, total, (start, end) => {
    const result: string[] = [];
    for (let i = start; i < end; i++) {
      const studentIndex = students === null ? i : students[i]!;
      const user = model.people.user(model.people.studentId(courseId, studentIndex))!;
      const submissions: string[] = [];
      for (let a = 0; a < assignments.length; a++) {
        const row = model.submissions.row(courseId, assignments[a]!, studentIndex);
        if (matches(row, filter)) submissions.push(render(row));
      }
      served += submissions.length;
      let entry = `{"user_id":${user.id},"section_id":${courseId},"submissions":[${submissions.join(",")}]`;
      if (canViewAll) entry += `,"integration_id":null,"sis_user_id":${JSON.stringify(user.sisUserId)}`;
      if (totalScores) {
        const grades = model.submissions.grades(courseId, studentIndex, course.gradingStandardId !== null);
        const score = (value: number | null) => (value === null ? "null" : String(value));
        entry += `,"computed_final_score":${score(grades.finalScore)},"computed_current_score":${score(grades.currentScore)}`;
        if (canViewAll) {
          entry += `,"unposted_final_score":${score(grades.finalScore)},"unposted_current_score":${score(grades.currentScore)}`;
        }
      }
      result.push(`${entry}}`);
    }
    return result;
  });
  // Canvas's work on a grouped page is its students and every submission in them.
  return { ...reply, rows: (reply.rows ?? 0) + served };
}

export function assignmentParam(ctx: RequestContext, courseId: number, name = "assignment_id"): number {
  const id = parseId(ctx.routeParams[name]);
  const index = id === null ? -1 : ctx.rt.model.assignments.index(courseId, id);
  if (index === -1) throw notFound();
  return index;
}

/** GET /api/v1/courses/:course_id/assignments/:assignment_id/submissions — by user id, numeric pages. */
function assignmentSubmissions(ctx: RequestContext): Reply {
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const index = assignmentParam(ctx, course.id);
  const render = submissionRenderer(ctx, course.id);
  const { model } = ctx.rt;
  return ordinalPageText(ctx, model.studentsPerCourse, (start, end) => {
    const rows: string[] = [];
    for (let k = start; k < end; k++) rows.push(render(model.submissions.row(course.id, index, k)));
    return rows;
  });
}

/** GET /api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id */
function showSubmission(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  const access = requireAccess(ctx, course.id, ANYONE_IN_COURSE);
  const index = assignmentParam(ctx, course.id);
  const [userId] = mapUserIds(ctx, [ctx.routeParams.user_id ?? ""]);
  const studentIndex = userId === undefined ? -1 : rt.model.people.studentIndex(course.id, userId);
  if (studentIndex === -1) throw notFound();
  if (access === "student" && userId !== ctx.user!.id) throw unauthorized(rt);
  const render = submissionRenderer(ctx, course.id);
  return rawJson(200, render(rt.model.submissions.row(course.id, index, studentIndex)));
}

export function submissionRoutes(): RouteDef[] {
  return [
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/students/submissions",
      auth: true,
      handler: forStudents,
    },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/assignments/:assignment_id/submissions",
      auth: true,
      handler: assignmentSubmissions,
    },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id",
      auth: true,
      handler: showSubmission,
    },
  ];
}
