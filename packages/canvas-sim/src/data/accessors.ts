import { isoOrNull } from "../clock.js";
import type { ProgressJobs, ProgressJson } from "../progress.js";
import type { StudentSummaryRow } from "./analytics.js";
import { assignmentJson, courseJson, enrollmentJson, submissionJson, termJson, userJson } from "./json.js";
import type { SimModel } from "./model.js";
import type { EnrollmentState, EnrollmentType } from "./people.js";
import type { SubmissionRow } from "./submissions.js";

/** A Canvas JSON object as the simulator serves it (see the README for the fields). */
export type CanvasObject = Record<string, unknown> & { id: number };

export interface SubmissionFilter {
  /** User ids; default every student. */
  studentIds?: readonly number[];
  /** Assignment ids; default every assignment. */
  assignmentIds?: readonly number[];
  workflowState?: "graded" | "submitted" | "unsubmitted" | "pending_review";
}

export interface EnrollmentFilter {
  /** Default: every type. */
  type?: readonly EnrollmentType[];
  /** Default: what the API returns to the admin when state[] is omitted: active, invited, inactive. */
  state?: readonly EnrollmentState[];
}

/**
 * The simulator's ground truth, as the API would serialise it (html_url fields use the simulator's
 * URL). Every accessor is deterministic for a seed and reflects grades posted through update_grades
 * once their Progress completed.
 */
export interface SimData {
  readonly seed: number;
  readonly courseCount: number;
  readonly studentsPerCourse: number;
  readonly assignmentsPerCourse: number;
  /** The admin "functional user" (owner of the developer token). */
  readonly adminUserId: number;
  courses(): CanvasObject[];
  course(id: number): CanvasObject | undefined;
  terms(): CanvasObject[];
  /** A user with SIS fields and email, or undefined. */
  user(id: number): CanvasObject | undefined;
  /** Every user (O(users): for small simulations). */
  users(): CanvasObject[];
  /** Teachers and TAs of a course. */
  staff(courseId: number): CanvasObject[];
  /** Students of a course (every enrollment state), ordered by id. */
  students(courseId: number): CanvasObject[];
  studentIds(courseId: number): number[];
  /** Enrollments in the API's order (type, sortable name, id). */
  enrollments(courseId: number, filter?: EnrollmentFilter): CanvasObject[];
  /**
   * A course's student enrollments by state, in O(students) without building them. The roster the
   * API lists to the admin by default is active + invited + inactive; completed ones are concluded.
   */
  studentCounts(courseId: number): Record<EnrollmentState, number>;
  /** Assignments in the API's order (assignment group, then position). */
  assignments(courseId: number): CanvasObject[];
  assignment(courseId: number, assignmentId: number): CanvasObject | undefined;
  submission(courseId: number, assignmentId: number, userId: number): CanvasObject | undefined;
  /** Submissions in `students/submissions` order (id = assignment position, then student id); lazy. */
  submissions(courseId: number, filter?: SubmissionFilter): IterableIterator<CanvasObject>;
  /** Count of `submissions(courseId, filter)`: O(1) without a workflowState filter. */
  submissionsCount(courseId: number, filter?: SubmissionFilter): number;
  /** Submission ids of a course are the contiguous range [first, last]. */
  submissionIdRange(courseId: number): { first: number; last: number };
  /** A student's enrollment grades (current/final score and grade, current_points). */
  grades(courseId: number, userId: number): Record<string, number | string | null> | undefined;
  /** `analytics/student_summaries` rows in the given sort order (default "name"). */
  studentSummaries(courseId: number, sortColumn?: string): StudentSummaryRow[];
  /** `last_attended_at` of a user's enrollment in a course. */
  lastAttended(courseId: number, userId: number): string | null;
  progress(id: number): ProgressJson | undefined;
}

export function createSimData(
  model: SimModel,
  jobs: ProgressJobs,
  base: () => string,
  now: () => number,
): SimData {
  /** Every index below `count`, or the distinct known ones of `ids` in order. */
  const indexes = (count: number, ids: readonly number[] | undefined, indexOf: (id: number) => number) =>
    ids
      ? [...new Set(ids.map(indexOf).filter((index) => index !== -1))].sort((a, b) => a - b)
      : Array.from({ length: count }, (_, index) => index);
  const studentIndexes = (courseId: number, ids?: readonly number[]): number[] =>
    indexes(model.studentsPerCourse, ids, (id) => model.people.studentIndex(courseId, id));
  const assignmentIndexes = (courseId: number, ids?: readonly number[]): number[] =>
    indexes(model.assignmentsPerCourse, ids, (id) => model.assignments.index(courseId, id));
  function* rows(courseId: number, filter: SubmissionFilter = {}): IterableIterator<SubmissionRow> {
    if (!model.catalog.hasCourse(courseId)) return;
    jobs.settle(now());
    const students = studentIndexes(courseId, filter.studentIds);
    for (const a of assignmentIndexes(courseId, filter.assignmentIds)) {
      for (const k of students) {
        const row = model.submissions.row(courseId, a, k);
        if (filter.workflowState === undefined || row.workflowState === filter.workflowState) yield row;
      }
    }
  }
  const data: SimData = {
    seed: model.config.seed,
    courseCount: model.courseCount,
    studentsPerCourse: model.studentsPerCourse,
    assignmentsPerCourse: model.assignmentsPerCourse,
    adminUserId: model.people.adminUserId,
    courses: () => model.catalog.courseIds().map((id) => data.course(id)!),
    course(id) {
      const course = model.catalog.course(id);
      return course ? (courseJson(model, course, base(), { includeTerm: true }) as CanvasObject) : undefined;
    },
    terms: () => model.catalog.terms().map((term) => termJson(term) as CanvasObject),
    user(id) {
      const user = model.people.user(id);
      return user ? (userJson(user, { sis: true, email: true }) as CanvasObject) : undefined;
    },
    users: () => Array.from({ length: model.people.userCount }, (_, i) => data.user(i + 1)!),
    staff: (courseId) =>
      model.catalog.hasCourse(courseId)
        ? Array.from(
            { length: model.people.staffPerCourse },
            (_, j) => data.user(model.people.staffId(courseId, j))!,
          )
        : [],
    students: (courseId) => data.studentIds(courseId).map((id) => data.user(id)!),
    studentIds: (courseId) =>
      model.catalog.hasCourse(courseId)
        ? Array.from({ length: model.studentsPerCourse }, (_, k) => model.people.studentId(courseId, k))
        : [],
    studentCounts(courseId) {
      const counts: Record<EnrollmentState, number> = {
        active: 0,
        invited: 0,
        inactive: 0,
        completed: 0,
        deleted: 0,
      };
      if (!model.catalog.hasCourse(courseId)) return counts;
      for (let k = 0; k < model.studentsPerCourse; k++) counts[model.people.studentState(courseId, k)]++;
      return counts;
    },
    enrollments(courseId, filter = {}) {
      if (!model.catalog.hasCourse(courseId)) return [];
      jobs.settle(now());
      const types = filter.type ? new Set(filter.type) : null;
      const states = new Set(filter.state ?? (["active", "invited", "inactive"] as const));
      return Array.from(
        model.people.enrollmentSlots(courseId, types, states, null),
        (slot) =>
          enrollmentJson(model, model.people.enrollmentAtSlot(courseId, slot), base(), {
            grader: true,
          }) as CanvasObject,
      );
    },
    assignments: (courseId) =>
      model.assignments
        .inListOrder(courseId)
        .map((assignment) => assignmentJson(model, assignment, base()) as CanvasObject),
    assignment(courseId, assignmentId) {
      const index = model.assignments.index(courseId, assignmentId);
      return index === -1
        ? undefined
        : (assignmentJson(model, model.assignments.ofCourse(courseId)[index]!, base()) as CanvasObject);
    },
    submission(courseId, assignmentId, userId) {
      const a = model.assignments.index(courseId, assignmentId);
      const k = model.people.studentIndex(courseId, userId);
      if (a === -1 || k === -1) return undefined;
      jobs.settle(now());
      return submissionJson(model.submissions.row(courseId, a, k), base()) as CanvasObject;
    },
    *submissions(courseId, filter) {
      for (const row of rows(courseId, filter)) yield submissionJson(row, base()) as CanvasObject;
    },
    submissionsCount(courseId, filter = {}) {
      if (!model.catalog.hasCourse(courseId)) return 0;
      if (filter.workflowState === undefined) {
        return (
          studentIndexes(courseId, filter.studentIds).length *
          assignmentIndexes(courseId, filter.assignmentIds).length
        );
      }
      let count = 0;
      for (const _ of rows(courseId, filter)) count++;
      return count;
    },
    submissionIdRange: (courseId) => model.submissions.idRange(courseId),
    grades(courseId, userId) {
      const k = model.people.studentIndex(courseId, userId);
      if (k === -1) return undefined;
      jobs.settle(now());
      const grades = model.submissions.grades(
        courseId,
        k,
        model.catalog.course(courseId)!.gradingStandardId !== null,
      );
      return {
        current_score: grades.currentScore,
        final_score: grades.finalScore,
        current_grade: grades.currentGrade,
        final_grade: grades.finalGrade,
        current_points: grades.currentPoints,
      };
    },
    studentSummaries(courseId, sortColumn = "name") {
      if (!model.catalog.hasCourse(courseId)) return [];
      jobs.settle(now());
      return Array.from(model.analytics.summaryOrder(courseId, sortColumn), (k) =>
        model.analytics.studentSummary(courseId, k),
      );
    },
    lastAttended: (courseId, userId) =>
      isoOrNull(model.people.enrollmentFor(courseId, userId)?.lastAttendedAt ?? null),
    progress: (id) => jobs.json(id, now(), base()),
  };
  return data;
}
