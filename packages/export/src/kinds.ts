/**
 * The rows of each export kind: which Canvas lists a kind reads (through canvas-client's endpoint
 * groups) and how a Canvas object becomes a row, column by column. Longer than 500 lines because it is
 * one table of seven kinds; each kind's mapping sits beside the others so their column orders match.
 */
import {
  type CanvasEndpoints,
  canvasEndpoints,
  type Enrollment,
  ROLL_CALL_ASSIGNMENT_NAME,
  type StudentSummary,
  type Submission,
  submissionsPlan,
} from "@easel/canvas-client";
import type { ExportClient } from "./client.js";
import { invalidArg } from "./errors.js";

/** The kinds of data an export produces, one row type each. */
export const EXPORT_KINDS = [
  "courses",
  "enrollments",
  "grades",
  "submissions",
  "assignments",
  "attendance",
  "engagement",
] as const;
export type ExportKind = (typeof EXPORT_KINDS)[number];

/** The name of the assignment Roll Call Attendance keeps its grades in (defined in canvas-client). */
export { ROLL_CALL_ASSIGNMENT_NAME };

/** Enrollment states an export asks for: every state Canvas lists for a course, not only the default active+invited. */
export const EXPORTED_ENROLLMENT_STATES = ["active", "invited", "inactive", "completed"] as const;

export type CourseRow = {
  course_id: number;
  sis_course_id: string | null;
  name: string;
  course_code: string;
  workflow_state: string;
  account_id: number | null;
  enrollment_term_id: number | null;
  start_at: string | null;
  end_at: string | null;
};

export type EnrollmentRow = {
  course_id: number;
  enrollment_id: number;
  user_id: number;
  sis_user_id: string | null;
  user_name: string | null;
  sortable_name: string | null;
  type: string;
  role: string;
  enrollment_state: string;
  course_section_id: number | null;
  created_at: string | null;
  updated_at: string | null;
  last_activity_at: string | null;
  last_attended_at: string | null;
  total_activity_time: number | null;
};

export type GradeRow = {
  course_id: number;
  user_id: number;
  sis_user_id: string | null;
  user_name: string | null;
  sortable_name: string | null;
  enrollment_state: string;
  current_score: number | null;
  final_score: number | null;
  current_grade: string | null;
  final_grade: string | null;
  unposted_current_score: number | null;
  unposted_final_score: number | null;
};

export type SubmissionRow = {
  course_id: number;
  assignment_id: number;
  user_id: number;
  submission_id: number;
  score: number | null;
  grade: string | null;
  workflow_state: string;
  submitted_at: string | null;
  graded_at: string | null;
  late: boolean;
  missing: boolean;
  excused: boolean;
  seconds_late: number | null;
  attempt: number | null;
};

export type AssignmentRow = {
  course_id: number;
  assignment_id: number;
  name: string;
  points_possible: number | null;
  grading_type: string;
  submission_types: string;
  due_at: string | null;
  unlock_at: string | null;
  lock_at: string | null;
  published: boolean;
  omit_from_final_grade: boolean | null;
  assignment_group_id: number | null;
  position: number | null;
};

export type AttendanceRow = {
  course_id: number;
  user_id: number;
  last_attended_at: string | null;
  roll_call_assignment_id: number | null;
  roll_call_score: number | null;
  roll_call_grade: string | null;
};

export type EngagementRow = {
  course_id: number;
  user_id: number;
  page_views: number | null;
  max_page_views: number | null;
  page_views_level: number | null;
  participations: number | null;
  max_participations: number | null;
  participations_level: number | null;
  tardiness_total: number | null;
  tardiness_on_time: number | null;
  tardiness_late: number | null;
  tardiness_missing: number | null;
  tardiness_floating: number | null;
  last_activity_at: string | null;
  total_activity_time: number | null;
};

/** The row type of each kind. */
export interface KindRows {
  courses: CourseRow;
  enrollments: EnrollmentRow;
  grades: GradeRow;
  submissions: SubmissionRow;
  assignments: AssignmentRow;
  attendance: AttendanceRow;
  engagement: EngagementRow;
}

/** A column: its name (the CSV header and NDJSON key) and what it holds. */
export interface ColumnSpec {
  name: string;
  description: string;
}

type Columns<R> = { readonly [K in keyof R]-?: string };

// Written as objects keyed by the row type, so a column can neither be missing nor misspelled;
// the key order IS the column order (stable: new columns are only ever appended).
const COURSE_COLUMNS: Columns<CourseRow> = {
  course_id: "Canvas course id",
  sis_course_id: "SIS course id (empty without permission)",
  name: "Course name",
  course_code: "Course code",
  workflow_state: "unpublished, available, completed or deleted",
  account_id: "Sub-account the course belongs to",
  enrollment_term_id: "Term id",
  start_at: "Course start (ISO 8601)",
  end_at: "Course end (ISO 8601)",
};

const ENROLLMENT_COLUMNS: Columns<EnrollmentRow> = {
  course_id: "Canvas course id",
  enrollment_id: "Enrollment id",
  user_id: "Canvas user id",
  sis_user_id: "SIS user id (empty without permission)",
  user_name: "Display name",
  sortable_name: 'Sortable name ("Last, First")',
  type: "StudentEnrollment, TeacherEnrollment, TaEnrollment, ...",
  role: "Role name",
  enrollment_state: "active, invited, inactive or completed",
  course_section_id: "Section id",
  created_at: "When the enrollment was created",
  updated_at: "When it last changed",
  last_activity_at: "Last activity in the course",
  last_attended_at: "Last attended date (set by an attendance tool or the API)",
  total_activity_time: "Seconds of activity in the course",
};

const GRADE_COLUMNS: Columns<GradeRow> = {
  course_id: "Canvas course id",
  user_id: "Canvas user id (one row per student)",
  sis_user_id: "SIS user id (empty without permission)",
  user_name: "Display name",
  sortable_name: 'Sortable name ("Last, First")',
  enrollment_state: "State of the student's enrollment",
  current_score: "Current score, % (graded work only)",
  final_score: "Final score, % (ungraded work counts as 0)",
  current_grade: "Current letter grade (empty without a grading scheme)",
  final_grade: "Final letter grade",
  unposted_current_score: "Current score including unposted grades (graders only)",
  unposted_final_score: "Final score including unposted grades (graders only)",
};

const SUBMISSION_COLUMNS: Columns<SubmissionRow> = {
  course_id: "Canvas course id",
  assignment_id: "Assignment id",
  user_id: "Student's Canvas user id",
  submission_id: "Submission id",
  score: "Points scored",
  grade: "Grade as Canvas shows it (points, %, letter)",
  workflow_state: "submitted, unsubmitted, graded or pending_review",
  submitted_at: "When it was submitted",
  graded_at: "When it was graded",
  late: "true when submitted after the due date",
  missing: "true when past due and not submitted",
  excused: "true when excused",
  seconds_late: "Seconds past the due date",
  attempt: "Attempt number",
};

const ASSIGNMENT_COLUMNS: Columns<AssignmentRow> = {
  course_id: "Canvas course id",
  assignment_id: "Assignment id",
  name: "Assignment name",
  points_possible: "Points possible",
  grading_type: "points, percent, letter_grade, pass_fail, gpa_scale or not_graded",
  submission_types: "Comma-separated submission types",
  due_at: "Due date",
  unlock_at: "Available from",
  lock_at: "Available until",
  published: "true when published",
  omit_from_final_grade: "true when it does not count toward the final grade",
  assignment_group_id: "Assignment group id",
  position: "Position in its group",
};

const ATTENDANCE_COLUMNS: Columns<AttendanceRow> = {
  course_id: "Canvas course id",
  user_id: "Student's Canvas user id (one row per student)",
  last_attended_at: "Enrollment's last attended date",
  roll_call_assignment_id: 'Id of the course\'s "Roll Call Attendance" assignment (empty when none)',
  roll_call_score: "Attendance score, 0-100 (empty when the course has no Roll Call assignment)",
  roll_call_grade: 'Attendance grade, e.g. "92%"',
};

const ENGAGEMENT_COLUMNS: Columns<EngagementRow> = {
  course_id: "Canvas course id",
  user_id: "Student's Canvas user id (one row per student)",
  page_views: "Page views (empty when no activity)",
  max_page_views: "Most page views of any student in the course",
  page_views_level: "0 none, 1 low, 2 medium, 3 high (course quartiles)",
  participations: "Participations (empty when no activity)",
  max_participations: "Most participations of any student in the course",
  participations_level: "0 none, 1 low, 2 medium, 3 high",
  tardiness_total: "Assignments counted",
  tardiness_on_time: "Submitted on time",
  tardiness_late: "Submitted late",
  tardiness_missing: "Missing",
  tardiness_floating: "Not submitted and not yet missing",
  last_activity_at: "Enrollment's last activity",
  total_activity_time: "Enrollment's seconds of activity",
};

const COLUMN_SPECS: { readonly [K in ExportKind]: Columns<KindRows[K]> } = {
  courses: COURSE_COLUMNS,
  enrollments: ENROLLMENT_COLUMNS,
  grades: GRADE_COLUMNS,
  submissions: SUBMISSION_COLUMNS,
  assignments: ASSIGNMENT_COLUMNS,
  attendance: ATTENDANCE_COLUMNS,
  engagement: ENGAGEMENT_COLUMNS,
};

function assertKind(kind: unknown): asserts kind is ExportKind {
  if (!EXPORT_KINDS.includes(kind as ExportKind)) {
    throw invalidArg("kind", kind, `must be one of ${EXPORT_KINDS.join(", ")}`);
  }
}

/** The column names of a kind, in output order. */
export function columnsOf(kind: ExportKind): readonly string[] {
  assertKind(kind);
  return Object.keys(COLUMN_SPECS[kind]);
}

/** The columns of a kind with a one-line description each (what the README tables show). */
export function describeColumns(kind: ExportKind): ColumnSpec[] {
  assertKind(kind);
  return Object.entries(COLUMN_SPECS[kind]).map(([name, description]) => ({
    name,
    description: String(description),
  }));
}

export interface RowsOptions {
  /** Stops the requests in flight and ends the iteration with the signal's reason. */
  signal?: AbortSignal;
}

/**
 * Every row of one kind for one course, streamed as Canvas's pages arrive, in Canvas's order
 * (submissions: by student, then assignment). Uses the fewest requests and the least Canvas work
 * Canvas allows: 100 per page, and for submissions the form `submissionsPlan` chooses (one
 * assignments-list request, then grouped pages of students with all their submissions).
 * Kinds that join two lists (attendance, engagement) hold at most one entry per student of the
 * course, never the course's submissions. Errors are the client's (`CANVAS_FORBIDDEN`,
 * `REAUTH_REQUIRED`, ...), unchanged.
 *
 * This is the reusable core: file writers, a database sync or a script all iterate it.
 *
 * @example
 * for await (const row of rowsForCourse(client, "grades", 101)) console.log(row.user_id, row.final_score);
 */
export function rowsForCourse<K extends ExportKind>(
  client: ExportClient,
  kind: K,
  courseId: number,
  options: RowsOptions = {},
): AsyncIterable<KindRows[K]> {
  assertKind(kind);
  if (typeof courseId !== "number" || !Number.isSafeInteger(courseId) || courseId <= 0) {
    throw invalidArg("courseId", courseId, "must be a positive integer");
  }
  const producer = PRODUCERS[kind] as (
    api: CanvasEndpoints,
    id: number,
    signal?: AbortSignal,
  ) => AsyncIterable<KindRows[K]>;
  // Built over the client as given, so a wrapped client still sees every request.
  return producer(canvasEndpoints(client), courseId, options.signal);
}

/**
 * `rowsForCourse` in batches (one per Canvas page where the kind reads one long list; one row
 * each otherwise): the same rows in the same order. For writers of large exports, which then
 * pay the async iteration per page instead of per row.
 */
export function rowBatchesForCourse<K extends ExportKind>(
  client: ExportClient,
  kind: K,
  courseId: number,
  options: RowsOptions = {},
): AsyncIterable<KindRows[K][]> {
  assertKind(kind);
  const batched = BATCH_PRODUCERS[kind] as
    | ((api: CanvasEndpoints, id: number, signal?: AbortSignal) => AsyncIterable<KindRows[K][]>)
    | undefined;
  if (!batched) return singleRows(rowsForCourse(client, kind, courseId, options));
  if (typeof courseId !== "number" || !Number.isSafeInteger(courseId) || courseId <= 0) {
    throw invalidArg("courseId", courseId, "must be a positive integer");
  }
  return batched(canvasEndpoints(client), courseId, options.signal);
}

async function* singleRows<R>(rows: AsyncIterable<R>): AsyncIterable<R[]> {
  for await (const row of rows) yield [row];
}

// ---- producers ------------------------------------------------------------------------------

/** Kinds whose rows come from one long list, produced a page at a time. */
const BATCH_PRODUCERS: {
  readonly [K in ExportKind]?: (
    api: CanvasEndpoints,
    id: number,
    signal?: AbortSignal,
  ) => AsyncIterable<KindRows[K][]>;
} = {
  submissions: submissionBatches,
};

const PRODUCERS: {
  readonly [K in ExportKind]: (
    api: CanvasEndpoints,
    id: number,
    signal?: AbortSignal,
  ) => AsyncIterable<KindRows[K]>;
} = {
  courses: courseRows,
  enrollments: enrollmentRows,
  grades: gradeRows,
  submissions: submissionRows,
  assignments: assignmentRows,
  attendance: attendanceRows,
  engagement: engagementRows,
};

const str = (value: unknown): string | null => (typeof value === "string" ? value : null);
const num = (value: unknown): number | null =>
  typeof value === "number" && Number.isFinite(value) ? value : null;
const bool = (value: unknown): boolean | null => (typeof value === "boolean" ? value : null);

function studentEnrollments(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<Enrollment> {
  return api.enrollments.forCourse(
    courseId,
    { type: ["StudentEnrollment"], state: EXPORTED_ENROLLMENT_STATES },
    { signal },
  );
}

async function* courseRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<CourseRow> {
  const course = await api.courses.get(courseId, { signal });
  yield {
    course_id: course.id,
    sis_course_id: str(course.sis_course_id),
    name: course.name,
    course_code: course.course_code,
    workflow_state: course.workflow_state,
    account_id: num(course.account_id),
    enrollment_term_id: num(course.enrollment_term_id),
    start_at: str(course.start_at),
    end_at: str(course.end_at),
  };
}

async function* enrollmentRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<EnrollmentRow> {
  const enrollments = api.enrollments.forCourse(courseId, { state: EXPORTED_ENROLLMENT_STATES }, { signal });
  for await (const e of enrollments) {
    yield {
      course_id: courseId,
      enrollment_id: e.id,
      user_id: e.user_id,
      sis_user_id: str(e.sis_user_id ?? e.user?.sis_user_id),
      user_name: str(e.user?.name),
      sortable_name: str(e.user?.sortable_name),
      type: e.type,
      role: e.role,
      enrollment_state: e.enrollment_state,
      course_section_id: num(e.course_section_id),
      created_at: str(e.created_at),
      updated_at: str(e.updated_at),
      last_activity_at: str(e.last_activity_at),
      last_attended_at: str(e.last_attended_at),
      total_activity_time: num(e.total_activity_time),
    };
  }
}

/**
 * One enrollment per student: a student enrolled in two sections has two enrollments with the
 * same course grades; the first (Canvas's order) wins. The set of seen ids is bounded by the
 * course's students.
 */
async function* uniqueStudents(enrollments: AsyncIterable<Enrollment>): AsyncIterable<Enrollment> {
  const seen = new Set<number>();
  for await (const e of enrollments) {
    if (seen.has(e.user_id)) continue;
    seen.add(e.user_id);
    yield e;
  }
}

async function* gradeRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<GradeRow> {
  for await (const e of uniqueStudents(studentEnrollments(api, courseId, signal))) {
    const g = e.grades;
    yield {
      course_id: courseId,
      user_id: e.user_id,
      sis_user_id: str(e.sis_user_id ?? e.user?.sis_user_id),
      user_name: str(e.user?.name),
      sortable_name: str(e.user?.sortable_name),
      enrollment_state: e.enrollment_state,
      current_score: num(g?.current_score),
      final_score: num(g?.final_score),
      current_grade: str(g?.current_grade),
      final_grade: str(g?.final_grade),
      unposted_current_score: num(g?.unposted_current_score),
      unposted_final_score: num(g?.unposted_final_score),
    };
  }
}

/** A Canvas submission as the export (and the sync) stores it. */
export function submissionRow(courseId: number, s: Submission): SubmissionRow {
  return {
    course_id: courseId,
    assignment_id: s.assignment_id,
    user_id: s.user_id,
    submission_id: s.id,
    score: num(s.score),
    grade: str(s.grade),
    workflow_state: s.workflow_state,
    submitted_at: str(s.submitted_at),
    graded_at: str(s.graded_at),
    late: s.late === true,
    missing: s.missing === true,
    excused: s.excused === true,
    seconds_late: num(s.seconds_late),
    attempt: num(s.attempt),
  };
}

/**
 * The course's published assignments (the ones `students/submissions` lists), each with its place in
 * Canvas's assignment order. One walk of the assignments list, the same one the `assignments` kind
 * makes (a caller sharing identical walks, like the sync, pays for it once).
 */
export async function publishedAssignmentOrder(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): Promise<Map<number, number>> {
  const order = new Map<number, number>();
  for await (const a of api.assignments.list(courseId, {}, { signal })) {
    if (a.published !== false) order.set(a.id, order.size);
  }
  return order;
}

/** Orders one student's submissions by Canvas's assignment order (Canvas sends them unordered). */
function byAssignmentOrder(order: ReadonlyMap<number, number>): (a: Submission, b: Submission) => number {
  const place = (s: Submission) => order.get(s.assignment_id) ?? order.size;
  return (a, b) => place(a) - place(b) || a.assignment_id - b.assignment_id;
}

/**
 * One student's submissions in the order `byAssignmentOrder` gives. A student has one submission per
 * assignment, so each is put straight at its assignment's place: one map lookup a submission instead
 * of two per comparison of a sort (at 1M rows the comparison sort was a tenth of the export's CPU).
 * A submission whose assignment is not in the list (published after the list was read) or a second
 * one for the same place falls back to the sort, which orders those the same way.
 */
export function inAssignmentOrder(
  submissions: readonly Submission[],
  order: ReadonlyMap<number, number>,
): Submission[] {
  const placed: Array<Submission | undefined> = new Array(order.size);
  for (const s of submissions) {
    const place = order.get(s.assignment_id);
    if (place === undefined || placed[place] !== undefined) {
      return submissions.slice().sort(byAssignmentOrder(order));
    }
    placed[place] = s;
  }
  const sorted: Submission[] = [];
  for (let i = 0; i < placed.length; i++) {
    const s = placed[i];
    if (s !== undefined) sorted.push(s);
  }
  return sorted;
}

/**
 * Every submission of the course, by student (user id) and then assignment (Canvas's order), read in
 * the form `submissionsPlan` says costs Canvas least for the course's published assignments: grouped
 * pages of students (at most 1,000 submissions a page) when there are several assignments, the flat
 * form for one (the same requests, no student entries), nothing for none. The flat form's rows (one
 * per student at most) are put in the same order, holding at most one entry per student.
 */
async function* submissionRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<SubmissionRow> {
  for await (const batch of submissionBatches(api, courseId, signal)) yield* batch;
}

/**
 * A course's submissions a page at a time (the export's hot path: 1M rows are thousands of pages),
 * in the form `submissionsPlan` finds cheapest for Canvas, by student then assignment order.
 */
async function* submissionBatches(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<SubmissionRow[]> {
  const order = await publishedAssignmentOrder(api, courseId, signal);
  const plan = submissionsPlan({ assignments: order.size });
  if (plan.query === undefined) return;
  const sort = byAssignmentOrder(order);
  if (plan.form === "grouped") {
    // A grouped page holds up to 1,000 submissions (ten flat pages): a course holds one, not a
    // second fetched ahead; the courses running side by side keep Canvas busy meanwhile.
    const pages = api.submissions.forStudentsPages(
      courseId,
      { studentIds: "all", grouped: true, perPage: plan.perPage },
      { signal, prefetch: 0 },
    );
    for await (const page of pages) {
      const rows: SubmissionRow[] = [];
      for (const student of page) {
        for (const s of inAssignmentOrder(student.submissions, order)) {
          rows.push(submissionRow(courseId, s));
        }
      }
      yield rows;
    }
    return;
  }
  // The flat form is chosen only for one assignment (a row per student): sorted whole, by student.
  const rows: Submission[] = [];
  const flat = api.submissions.forStudentsPages(
    courseId,
    { studentIds: "all", perPage: plan.perPage },
    { signal },
  );
  for await (const page of flat) rows.push(...page);
  rows.sort((a, b) => a.user_id - b.user_id || sort(a, b));
  yield rows.map((s) => submissionRow(courseId, s));
}

async function* assignmentRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<AssignmentRow> {
  for await (const a of api.assignments.list(courseId, {}, { signal })) {
    yield {
      course_id: courseId,
      assignment_id: a.id,
      name: a.name,
      points_possible: num(a.points_possible),
      grading_type: a.grading_type,
      submission_types: Array.isArray(a.submission_types) ? a.submission_types.join(",") : "",
      due_at: str(a.due_at),
      unlock_at: str(a.unlock_at),
      lock_at: str(a.lock_at),
      published: a.published === true,
      omit_from_final_grade: bool(a.omit_from_final_grade),
      assignment_group_id: num(a.assignment_group_id),
      position: num(a.position),
    };
  }
}

async function* attendanceRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<AttendanceRow> {
  const rollCall = await api.assignments.findRollCall(courseId, { signal });
  // One entry per student with a Roll Call grade: bounded by the course's students.
  const scores = new Map<number, { score: number | null; grade: string | null }>();
  if (rollCall) {
    const submissions = api.submissions.forStudents(
      courseId,
      { studentIds: "all", assignmentIds: [rollCall.id] },
      { signal },
    );
    for await (const s of submissions) scores.set(s.user_id, { score: num(s.score), grade: str(s.grade) });
  }
  for await (const e of uniqueStudents(studentEnrollments(api, courseId, signal))) {
    const attendance = scores.get(e.user_id);
    yield {
      course_id: courseId,
      user_id: e.user_id,
      last_attended_at: str(e.last_attended_at),
      roll_call_assignment_id: rollCall ? rollCall.id : null,
      roll_call_score: attendance?.score ?? null,
      roll_call_grade: attendance?.grade ?? null,
    };
  }
}

async function* engagementRows(
  api: CanvasEndpoints,
  courseId: number,
  signal?: AbortSignal,
): AsyncIterable<EngagementRow> {
  // One summary per student: bounded by the course's students.
  const summaries = new Map<number, StudentSummary>();
  const pages = api.analytics.studentSummaries(courseId, {}, { signal });
  for await (const s of pages) summaries.set(s.id, s);
  for await (const e of uniqueStudents(studentEnrollments(api, courseId, signal))) {
    const s = summaries.get(e.user_id);
    const t = s?.tardiness_breakdown;
    yield {
      course_id: courseId,
      user_id: e.user_id,
      page_views: num(s?.page_views),
      max_page_views: num(s?.max_page_views),
      page_views_level: num(s?.page_views_level),
      participations: num(s?.participations),
      max_participations: num(s?.max_participations),
      participations_level: num(s?.participations_level),
      tardiness_total: num(t?.total),
      tardiness_on_time: num(t?.on_time),
      tardiness_late: num(t?.late),
      tardiness_missing: num(t?.missing),
      tardiness_floating: num(t?.floating),
      last_activity_at: str(e.last_activity_at),
      total_activity_time: num(e.total_activity_time),
    };
  }
}
