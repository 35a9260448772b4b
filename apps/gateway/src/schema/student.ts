import type { Enrollment, Grades, StudentSummary, Submission } from "@easel/canvas-client";
import type { GatewayContext } from "../context.js";
import { type StudentKey, studentKey, submissionsKey } from "../loaders.js";
import { builder } from "./builder.js";
import { canvasId } from "./ids.js";

/** A student in one course: the roster row it came from. */
export interface StudentShape {
  courseId: number;
  enrollment: Enrollment;
  /** The loaders' key for this student (made once, read by every per-student field). */
  key: StudentKey;
}

export function studentOf(courseId: number, enrollment: Enrollment): StudentShape {
  return { courseId, enrollment, key: studentKey(courseId, enrollment.user_id) };
}

type MaybePromise<T> = T | Promise<T>;

/*
 * Per-student fields answer with a plain value when the data is in hand: graphql-js completes a
 * value without allocating promises, and a 50-student page has hundreds of these fields. They fall
 * back to the loaders (same requests, same errors in the same places) when it is not.
 */

/** A value of the student's enrollment: the row itself, or (naive baseline) its own load. */
function fromEnrollment<T>(
  s: StudentShape,
  ctx: GatewayContext,
  pick: (row: Enrollment | null) => T,
): MaybePromise<T> {
  if (ctx.loaders.rowIsEnrollment) return pick(s.enrollment);
  return ctx.loaders.enrollment.load(s.key).then(pick);
}

function fromSummary<T>(
  s: StudentShape,
  ctx: GatewayContext,
  pick: (row: StudentSummary | null) => T,
): MaybePromise<T> {
  const row = ctx.loaders.arrived.summary.now(s.key);
  return row === undefined ? ctx.loaders.summary.load(s.key).then(pick) : pick(row);
}

function fromRollCall<T>(
  s: StudentShape,
  ctx: GatewayContext,
  pick: (row: Submission | null) => T,
): MaybePromise<T> {
  const row = ctx.loaders.arrived.rollCall.now(s.key);
  return row === undefined ? ctx.loaders.rollCall.load(s.key).then(pick) : pick(row);
}

/**
 * The parent of fields that read `arrivals`: waits (once per student, not once per field) for a
 * load already started for this student (by the planner), so its fields then read the answer as a
 * plain value. Starts nothing itself: what no one started is loaded by the fields that need it.
 */
function afterArrival(
  s: StudentShape,
  arrivals: { pending(key: StudentKey): Promise<void> | undefined },
): MaybePromise<StudentShape> {
  const pending = arrivals.pending(s.key);
  return pending ? pending.then(() => s) : s;
}

export const GradesRef = builder.objectRef<Grades>("Grades").implement({
  description:
    "The student's course grade, from the enrollment (Canvas computes it). Unposted variants include grades not yet posted; Canvas sends them to graders only.",
  fields: (t) => ({
    currentScore: t.float({ nullable: true, resolve: (g) => g.current_score ?? null }),
    finalScore: t.float({ nullable: true, resolve: (g) => g.final_score ?? null }),
    currentGrade: t.string({ nullable: true, resolve: (g) => g.current_grade ?? null }),
    finalGrade: t.string({ nullable: true, resolve: (g) => g.final_grade ?? null }),
    unpostedCurrentScore: t.float({ nullable: true, resolve: (g) => g.unposted_current_score ?? null }),
    unpostedFinalScore: t.float({ nullable: true, resolve: (g) => g.unposted_final_score ?? null }),
    unpostedCurrentGrade: t.string({ nullable: true, resolve: (g) => g.unposted_current_grade ?? null }),
    unpostedFinalGrade: t.string({ nullable: true, resolve: (g) => g.unposted_final_grade ?? null }),
  }),
});

export const SubmissionRef = builder.objectRef<Submission>("Submission").implement({
  description: "A student's submission for one assignment.",
  fields: (t) => ({
    assignmentId: t.id({ nullable: false, resolve: (s) => s.assignment_id }),
    score: t.float({ nullable: true, resolve: (s) => s.score ?? null }),
    grade: t.string({ nullable: true, resolve: (s) => s.grade ?? null }),
    submittedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.submitted_at ?? null }),
    gradedAt: t.field({ type: "DateTime", nullable: true, resolve: (s) => s.graded_at ?? null }),
    late: t.boolean({ nullable: false, resolve: (s) => s.late === true }),
    missing: t.boolean({ nullable: false, resolve: (s) => s.missing === true }),
    excused: t.boolean({ nullable: false, resolve: (s) => s.excused === true }),
    workflowState: t.string({
      nullable: false,
      description: "submitted, unsubmitted, graded or pending_review.",
      resolve: (s) => s.workflow_state,
    }),
    attempt: t.int({ nullable: true, resolve: (s) => s.attempt ?? null }),
  }),
});

export const AttendanceRef = builder.objectRef<StudentShape>("Attendance").implement({
  description:
    "Attendance as Canvas stores it: the enrollment's last attended date, and the Roll Call Attendance tool's grade (its assignment's submission) where the course has that assignment.",
  fields: (t) => ({
    lastAttendedAt: t.field({
      type: "DateTime",
      nullable: true,
      resolve: (s, _args, ctx) => fromEnrollment(s, ctx, (row) => row?.last_attended_at ?? null),
    }),
    rollCallScore: t.float({
      nullable: true,
      description: "Roll Call's percentage (presences + weighted tardies over sessions), 0-100.",
      resolve: (s, _args, ctx) => fromRollCall(s, ctx, (row) => row?.score ?? null),
    }),
    rollCallGrade: t.string({
      nullable: true,
      description: 'As Canvas shows it, e.g. "93%".',
      resolve: (s, _args, ctx) => fromRollCall(s, ctx, (row) => row?.grade ?? null),
    }),
  }),
});

interface TardinessShape {
  total: number;
  on_time: number;
  late: number;
  missing: number;
  floating: number;
}

export const TardinessRef = builder.objectRef<TardinessShape>("TardinessBreakdown").implement({
  description: "How the student's assignments stand against their due dates (analytics).",
  fields: (t) => ({
    total: t.exposeInt("total", { nullable: false }),
    onTime: t.exposeInt("on_time", { nullable: false }),
    late: t.exposeInt("late", { nullable: false }),
    missing: t.exposeInt("missing", { nullable: false }),
    floating: t.exposeInt("floating", { nullable: false, description: "Work without a due date." }),
  }),
});

export const EngagementRef = builder.objectRef<StudentShape>("Engagement").implement({
  description:
    "Course analytics (student_summaries) plus activity from the enrollment. Levels are 0-3 course quartiles (0 none, 1 below Q1, 2 below Q3, 3 at or above Q3).",
  fields: (t) => {
    return {
      pageViews: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.page_views ?? null),
      }),
      maxPageViews: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.max_page_views ?? null),
      }),
      pageViewsLevel: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.page_views_level ?? null),
      }),
      participations: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.participations ?? null),
      }),
      maxParticipations: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.max_participations ?? null),
      }),
      participationsLevel: t.int({
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.participations_level ?? null),
      }),
      tardinessBreakdown: t.field({
        type: TardinessRef,
        nullable: true,
        resolve: (s, _a, ctx) => fromSummary(s, ctx, (row) => row?.tardiness_breakdown ?? null),
      }),
      lastActivityAt: t.field({
        type: "DateTime",
        nullable: true,
        resolve: (s, _a, ctx) => fromEnrollment(s, ctx, (row) => row?.last_activity_at ?? null),
      }),
      totalActivityTime: t.int({
        nullable: true,
        description: "Seconds.",
        resolve: (s, _a, ctx) => fromEnrollment(s, ctx, (row) => row?.total_activity_time ?? null),
      }),
    };
  },
});

export const StudentRef = builder.objectRef<StudentShape>("Student").implement({
  description: "A student enrolled in a course (from the course's student enrollments).",
  fields: (t) => ({
    id: t.id({ nullable: false, description: "The Canvas user id.", resolve: (s) => s.enrollment.user_id }),
    courseId: t.id({ nullable: false, resolve: (s) => s.courseId }),
    name: t.string({ nullable: false, resolve: (s) => s.enrollment.user?.name ?? "" }),
    sortableName: t.string({ nullable: true, resolve: (s) => s.enrollment.user?.sortable_name ?? null }),
    shortName: t.string({ nullable: true, resolve: (s) => s.enrollment.user?.short_name ?? null }),
    sisUserId: t.string({
      nullable: true,
      description: "Only when the caller may read SIS data.",
      resolve: (s) => s.enrollment.sis_user_id ?? s.enrollment.user?.sis_user_id ?? null,
    }),
    sectionId: t.id({ nullable: true, resolve: (s) => s.enrollment.course_section_id ?? null }),
    enrollmentState: t.string({ nullable: true, resolve: (s) => s.enrollment.enrollment_state ?? null }),
    grades: t.field({
      type: GradesRef,
      nullable: true,
      resolve: (s, _args, ctx) => fromEnrollment(s, ctx, (row) => row?.grades ?? null),
    }),
    submissions: t.field({
      type: [SubmissionRef],
      nullable: false,
      description: "Submissions for the course's published assignments, or only those listed.",
      args: { assignmentIds: t.arg.idList({ required: false }) },
      resolve: async (s, args, ctx) => {
        const ids = args.assignmentIds?.map((id) => canvasId(id, "assignmentIds"));
        return [
          ...(await ctx.loaders.submissions.load(submissionsKey(s.courseId, s.enrollment.user_id, ids))),
        ];
      },
    }),
    attendance: t.field({
      type: AttendanceRef,
      nullable: false,
      resolve: (s, _args, ctx) => afterArrival(s, ctx.loaders.arrived.rollCall),
    }),
    engagement: t.field({
      type: EngagementRef,
      nullable: false,
      resolve: (s, _args, ctx) => afterArrival(s, ctx.loaders.arrived.summary),
    }),
  }),
});
