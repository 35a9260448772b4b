import { isoOrNull, isoSeconds } from "../clock.js";
import type { AssignmentInfo } from "./assignments.js";
import type { CourseInfo, TermInfo } from "./catalog.js";
import type { SimModel } from "./model.js";
import { type EnrollmentInfo, ROLE_IDS, type UserInfo } from "./people.js";
import type { SubmissionRow } from "./submissions.js";

/** Canvas JSON shapes. Field names and order follow Canvas's serializers (lib/api/v1/*.rb). */

export function termJson(term: TermInfo): Record<string, unknown> {
  return {
    id: term.id,
    name: term.name,
    start_at: isoOrNull(term.startAt),
    end_at: isoOrNull(term.endAt),
    created_at: "2025-06-01T00:00:00Z",
    workflow_state: "active",
    grading_period_group_id: null,
    sis_term_id: term.sisTermId,
  };
}

export interface CourseJsonOptions {
  includeTerm?: boolean;
  totalStudents?: boolean;
  /** The caller's enrollments in the course (Canvas embeds them in course lists). */
  enrollments?: Array<Record<string, unknown>>;
}

export function courseJson(
  model: SimModel,
  course: CourseInfo,
  base: string,
  options: CourseJsonOptions = {},
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: course.id,
    name: course.name,
    account_id: course.accountId,
    uuid: course.uuid,
    start_at: isoSeconds(course.startAt),
    grading_standard_id: course.gradingStandardId,
    is_public: false,
    created_at: isoSeconds(course.createdAt),
    course_code: course.courseCode,
    default_view: "modules",
    root_account_id: 1,
    enrollment_term_id: course.termId,
    license: "private",
    grade_passback_setting: null,
    end_at: isoSeconds(course.endAt),
    public_syllabus: false,
    public_syllabus_to_auth: false,
    storage_quota_mb: 500,
    is_public_to_auth_users: false,
    homeroom_course: false,
    course_color: null,
    friendly_name: null,
    apply_assignment_group_weights: false,
    calendar: { ics: `${base}/feeds/calendars/course_${course.uuid}.ics` },
    time_zone: "America/Denver",
    blueprint: false,
    template: false,
    sis_course_id: course.sisCourseId,
    integration_id: null,
    hide_final_grades: false,
    workflow_state: "available",
    restrict_enrollments_to_course_dates: false,
  };
  if (options.enrollments) json.enrollments = options.enrollments;
  if (options.totalStudents) json.total_students = model.studentsPerCourse;
  if (options.includeTerm) {
    // The term embedded in a course has every field of the term but its SIS id.
    const { sis_term_id: _sisTermId, ...term } = termJson(model.catalog.term(course.termId)!);
    json.term = term;
  }
  return json;
}

/** The caller's enrollment summary embedded in course JSON (`type` is lower-case there). */
export function courseEnrollmentSummary(enrollment: EnrollmentInfo): Record<string, unknown> {
  const type = enrollment.type.replace("Enrollment", "").toLowerCase();
  return {
    type,
    role: enrollment.type,
    role_id: ROLE_IDS[enrollment.type],
    user_id: enrollment.userId,
    enrollment_state: enrollment.state,
    limit_privileges_to_course_section: false,
  };
}

export interface UserJsonOptions {
  /** Callers who may read SIS data see sis_user_id/login_id. */
  sis?: boolean;
  email?: boolean;
}

export function userJson(user: UserInfo, options: UserJsonOptions = {}): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: user.id,
    name: user.name,
    created_at: isoSeconds(user.createdAt),
    sortable_name: user.sortableName,
    short_name: user.shortName,
  };
  if (options.sis) {
    json.sis_user_id = user.sisUserId;
    json.integration_id = null;
    json.sis_import_id = null;
    json.root_account = "canvas.example.edu";
    json.login_id = user.loginId;
  }
  if (options.email) json.email = user.email;
  return json;
}

/** The short user object inside an enrollment. */
function enrollmentUserJson(user: UserInfo, sis: boolean): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: user.id,
    name: user.name,
    created_at: isoSeconds(user.createdAt),
    sortable_name: user.sortableName,
    short_name: user.shortName,
  };
  if (sis) {
    json.sis_user_id = user.sisUserId;
    json.integration_id = null;
    json.root_account = "canvas.example.edu";
    json.login_id = user.loginId;
  }
  return json;
}

export interface EnrollmentJsonOptions {
  /** Graders see unposted_* scores and SIS ids. */
  grader: boolean;
  currentPoints?: boolean;
}

export function enrollmentJson(
  model: SimModel,
  enrollment: EnrollmentInfo,
  base: string,
  options: EnrollmentJsonOptions,
): Record<string, unknown> {
  const course = model.catalog.course(enrollment.courseId)!;
  const user = model.people.user(enrollment.userId)!;
  const json: Record<string, unknown> = {
    id: enrollment.id,
    user_id: enrollment.userId,
    course_id: enrollment.courseId,
    type: enrollment.type,
    created_at: isoSeconds(enrollment.createdAt),
    updated_at: isoSeconds(enrollment.createdAt),
    associated_user_id: null,
    start_at: null,
    end_at: null,
    course_section_id: enrollment.sectionId,
    root_account_id: 1,
    limit_privileges_to_course_section: false,
    enrollment_state: enrollment.state,
    role: enrollment.type,
    role_id: ROLE_IDS[enrollment.type],
    last_activity_at: isoOrNull(enrollment.lastActivityAt),
    last_attended_at: isoOrNull(enrollment.lastAttendedAt),
    total_activity_time: enrollment.totalActivityTime,
  };
  if (enrollment.type === "StudentEnrollment") {
    const grades = model.submissions.grades(
      enrollment.courseId,
      enrollment.studentIndex,
      course.gradingStandardId !== null,
    );
    const gradesJson: Record<string, unknown> = {
      html_url: `${base}/courses/${enrollment.courseId}/grades/${enrollment.userId}`,
      current_grade: grades.currentGrade,
      current_score: grades.currentScore,
      final_grade: grades.finalGrade,
      final_score: grades.finalScore,
    };
    if (options.currentPoints) gradesJson.current_points = grades.currentPoints;
    if (options.grader) {
      gradesJson.unposted_current_grade = grades.currentGrade;
      gradesJson.unposted_current_score = grades.currentScore;
      gradesJson.unposted_final_grade = grades.finalGrade;
      gradesJson.unposted_final_score = grades.finalScore;
      if (options.currentPoints) gradesJson.unposted_current_points = grades.currentPoints;
    }
    json.grades = gradesJson;
  }
  if (options.grader) {
    json.sis_account_id = model.catalog.account(course.accountId)?.sisAccountId ?? null;
    json.sis_course_id = course.sisCourseId;
    json.course_integration_id = null;
    json.sis_section_id = `${course.sisCourseId}-S1`;
    json.section_integration_id = null;
    json.sis_user_id = user.sisUserId;
  }
  json.html_url = `${base}/courses/${enrollment.courseId}/users/${enrollment.userId}`;
  json.user = enrollmentUserJson(user, options.grader);
  return json;
}

export function assignmentJson(
  model: SimModel,
  assignment: AssignmentInfo,
  base: string,
  needsGradingCount?: number,
): Record<string, unknown> {
  const course = model.catalog.course(assignment.courseId)!;
  const json: Record<string, unknown> = {
    id: assignment.id,
    description: assignment.isAttendance
      ? null
      : `<p>${assignment.name.replace(/&/g, "&amp;").replace(/</g, "&lt;")}</p>`,
    due_at: isoOrNull(assignment.dueAt),
    unlock_at: null,
    lock_at: null,
    points_possible: assignment.pointsPossible,
    grading_type: assignment.gradingType,
    assignment_group_id: assignment.groupId,
    grading_standard_id: null,
    created_at: isoSeconds(assignment.createdAt),
    updated_at: isoSeconds(assignment.createdAt),
    peer_reviews: false,
    automatic_peer_reviews: false,
    position: assignment.index + 1,
    grade_group_students_individually: false,
    anonymous_peer_reviews: false,
    group_category_id: null,
    post_to_sis: false,
    moderated_grading: false,
    omit_from_final_grade: false,
    intra_group_peer_reviews: false,
    anonymous_instructor_annotations: false,
    anonymous_grading: false,
    graders_anonymous_to_graders: false,
    grader_count: 0,
    allowed_attempts: -1,
    hide_in_gradebook: false,
    course_id: assignment.courseId,
    name: assignment.name,
    submission_types: assignment.submissionTypes,
    has_submitted_submissions: true,
    due_date_required: false,
    max_name_length: 255,
    in_closed_grading_period: false,
    graded_submissions_exist: true,
    is_quiz_assignment: assignment.submissionTypes[0] === "online_quiz",
    workflow_state: "published",
    muted: false,
    html_url: `${base}/courses/${assignment.courseId}/assignments/${assignment.id}`,
    has_overrides: false,
    sis_assignment_id: null,
    integration_id: null,
    published: true,
    unpublishable: false,
    only_visible_to_overrides: false,
    locked_for_user: false,
    submissions_download_url: `${base}/courses/${assignment.courseId}/assignments/${assignment.id}/submissions?zip=1`,
    post_manually: false,
    anonymize_students: false,
    require_lockdown_browser: false,
  };
  if (needsGradingCount !== undefined) json.needs_grading_count = needsGradingCount;
  if (assignment.isAttendance) {
    json.external_tool_tag_attributes = {
      url: "https://rollcall.instructure.com/launch",
      new_tab: false,
      resource_link_id: `rollcall-${course.uuid.slice(0, 12)}`,
      external_data: "",
      content_type: "ContextExternalTool",
      content_id: 1,
    };
  }
  return json;
}

export interface SubmissionJsonOptions {
  user?: UserInfo;
  assignment?: Record<string, unknown>;
}

/** One Submission (canvas:lib/api/v1/submission.rb `submission_json`), fields as Canvas orders them. */
export function submissionJson(
  row: SubmissionRow,
  base: string,
  options?: SubmissionJsonOptions,
): Record<string, unknown> {
  const json: Record<string, unknown> = {
    id: row.id,
    body: null,
    url: null,
    grade: row.grade,
    score: row.score,
    submitted_at: isoOrNull(row.submittedAt),
    assignment_id: row.assignmentId,
    user_id: row.userId,
    submission_type: row.submissionType,
    workflow_state: row.workflowState,
    grade_matches_current_submission: true,
    graded_at: isoOrNull(row.gradedAt),
    grader_id: row.graderId,
    attempt: row.attempt,
    cached_due_date: isoOrNull(row.dueAt),
    excused: row.excused,
    late_policy_status: null,
    points_deducted: null,
    grading_period_id: null,
    extra_attempts: null,
    posted_at: isoOrNull(row.gradedAt),
    redo_request: false,
    custom_grade_status_id: null,
    sticker: null,
    late: row.late,
    missing: row.missing,
    seconds_late: row.secondsLate,
    entered_grade: row.grade,
    entered_score: row.score,
    preview_url: `${base}/courses/${row.courseId}/assignments/${row.assignmentId}/submissions/${row.userId}?preview=1&version=${row.attempt ?? 0}`,
  };
  if (options?.assignment) json.assignment = options.assignment;
  if (options?.user) json.user = userJson(options.user);
  return json;
}

function jsonString(value: string | null): string {
  return value === null ? "null" : JSON.stringify(value);
}

function jsonNumber(value: number | null): string {
  return value === null ? "null" : String(value);
}

function jsonTime(ms: number | null): string {
  return ms === null ? "null" : `"${isoSeconds(ms)}"`;
}

/**
 * The same JSON as `JSON.stringify(submissionJson(row, base))`, built as one string: the walk of a
 * million-row course spends most of its time here. `escapedBase` is `JSON.stringify(base)` without
 * its closing quote. A test pins the two forms equal.
 */
export function submissionJsonText(row: SubmissionRow, escapedBase: string): string {
  return `{"id":${row.id},"body":null,"url":null,"grade":${jsonString(row.grade)},"score":${jsonNumber(row.score)},"submitted_at":${jsonTime(row.submittedAt)},"assignment_id":${row.assignmentId},"user_id":${row.userId},"submission_type":${jsonString(row.submissionType)},"workflow_state":"${row.workflowState}","grade_matches_current_submission":true,"graded_at":${jsonTime(row.gradedAt)},"grader_id":${jsonNumber(row.graderId)},"attempt":${jsonNumber(row.attempt)},"cached_due_date":${jsonTime(row.dueAt)},"excused":${row.excused},"late_policy_status":null,"points_deducted":null,"grading_period_id":null,"extra_attempts":null,"posted_at":${jsonTime(row.gradedAt)},"redo_request":false,"custom_grade_status_id":null,"sticker":null,"late":${row.late},"missing":${row.missing},"seconds_late":${row.secondsLate},"entered_grade":${jsonString(row.grade)},"entered_score":${jsonNumber(row.score)},"preview_url":${escapedBase}/courses/${row.courseId}/assignments/${row.assignmentId}/submissions/${row.userId}?preview=1&version=${row.attempt ?? 0}"}`;
}

/** `JSON.stringify(base)` minus the closing quote, for `submissionJsonText`. */
export function escapeBase(base: string): string {
  return JSON.stringify(base).slice(0, -1);
}
