/**
 * Canvas resources with Canvas's own field names (snake_case), as the REST API returns them.
 * Fields Canvas only sends with an `include[]`, a permission or a feature are optional.
 * @see https://canvas.instructure.com/doc/api/
 */

/** A Canvas id as accepted in paths: a number, `"self"`, or a SIS id like `"sis_course_id:X"`. */
export type CanvasId = number | string;

export interface Term {
  id: number;
  name: string;
  start_at: string | null;
  end_at: string | null;
}

export interface Course {
  id: number;
  name: string;
  course_code: string;
  workflow_state: "unpublished" | "available" | "completed" | "deleted" | string;
  account_id: number;
  root_account_id?: number;
  enrollment_term_id: number;
  sis_course_id?: string | null;
  uuid?: string;
  start_at: string | null;
  end_at: string | null;
  created_at?: string;
  time_zone?: string;
  default_view?: string;
  /** With `include[]=total_students`. */
  total_students?: number;
  /** With `include[]=term`. */
  term?: Term;
  /** The caller's enrollments (compact), on `/courses`. */
  enrollments?: Array<Partial<Enrollment> & { type: string }>;
}

export interface User {
  id: number;
  name: string;
  sortable_name: string;
  short_name: string;
  sis_user_id?: string | null;
  login_id?: string;
  email?: string;
  avatar_url?: string;
  locale?: string | null;
  created_at?: string;
  /** With `include[]=enrollments` on course users. */
  enrollments?: Enrollment[];
}

export interface Grades {
  html_url: string;
  current_grade: string | null;
  current_score: number | null;
  final_grade: string | null;
  final_score: number | null;
  /** With `include[]=current_points`. */
  current_points?: number | null;
  unposted_current_grade?: string | null;
  unposted_current_score?: number | null;
  unposted_final_grade?: string | null;
  unposted_final_score?: number | null;
  unposted_current_points?: number | null;
}

export type EnrollmentType =
  | "StudentEnrollment"
  | "TeacherEnrollment"
  | "TaEnrollment"
  | "DesignerEnrollment"
  | "ObserverEnrollment";

export type EnrollmentState =
  | "active"
  | "invited"
  | "creation_pending"
  | "deleted"
  | "rejected"
  | "completed"
  | "inactive";

export interface Enrollment {
  id: number;
  course_id: number;
  course_section_id: number;
  user_id: number;
  type: EnrollmentType | string;
  role: string;
  role_id: number;
  enrollment_state: EnrollmentState | string;
  created_at: string;
  updated_at: string;
  start_at: string | null;
  end_at: string | null;
  last_activity_at: string | null;
  last_attended_at: string | null;
  /** Seconds. */
  total_activity_time: number;
  html_url: string;
  /** Student enrollments only. */
  grades?: Grades;
  user?: Pick<User, "id" | "name" | "sortable_name" | "short_name"> & Partial<User>;
  sis_user_id?: string | null;
  sis_course_id?: string | null;
  limit_privileges_to_course_section?: boolean;
  computed_current_score?: number | null;
  computed_final_score?: number | null;
  computed_current_grade?: string | null;
  computed_final_grade?: string | null;
  override_grade?: string | null;
  override_score?: number | null;
  current_grading_period_id?: number | null;
  has_grading_periods?: boolean;
}

export interface Assignment {
  id: number;
  course_id: number;
  name: string;
  description?: string | null;
  due_at: string | null;
  lock_at?: string | null;
  unlock_at?: string | null;
  points_possible: number | null;
  grading_type: "pass_fail" | "percent" | "letter_grade" | "gpa_scale" | "points" | "not_graded" | string;
  submission_types: string[];
  assignment_group_id?: number;
  position?: number;
  published: boolean;
  omit_from_final_grade?: boolean;
  html_url?: string;
  created_at?: string;
  updated_at?: string;
}

export interface SubmissionComment {
  id: number;
  author_id: number;
  author_name: string;
  comment: string;
  created_at: string;
}

export interface Submission {
  id: number;
  assignment_id: number;
  user_id: number;
  course_id?: number;
  attempt: number | null;
  body?: string | null;
  grade: string | null;
  score: number | null;
  entered_grade?: string | null;
  entered_score?: number | null;
  excused: boolean | null;
  late: boolean;
  missing: boolean;
  late_policy_status?: string | null;
  points_deducted?: number | null;
  seconds_late?: number;
  submitted_at: string | null;
  graded_at: string | null;
  grader_id?: number | null;
  posted_at?: string | null;
  submission_type: string | null;
  workflow_state: "submitted" | "unsubmitted" | "graded" | "pending_review" | string;
  grade_matches_current_submission?: boolean;
  preview_url?: string;
  url?: string | null;
  /** With `include[]=submission_comments`. */
  submission_comments?: SubmissionComment[];
  /** With `include[]=assignment`. */
  assignment?: Assignment;
  /** With `include[]=user`. */
  user?: User;
}

/** One student of `students/submissions?grouped=1`. */
export interface StudentSubmissions {
  user_id: number;
  section_id: number;
  sis_user_id?: string | null;
  integration_id?: string | null;
  submissions: Submission[];
  /** With `include[]=total_scores`. */
  computed_current_score?: number | null;
  computed_final_score?: number | null;
  unposted_current_score?: number | null;
  unposted_final_score?: number | null;
}

/** Analytics plugin: `GET /api/v1/courses/:course_id/analytics/student_summaries`. */
export interface StudentSummary {
  id: number;
  page_views: number | null;
  max_page_views: number | null;
  /** 0 none, 1 below Q1, 2 below Q3, 3 at or above Q3. */
  page_views_level: number | null;
  participations: number | null;
  max_participations: number | null;
  participations_level: number | null;
  tardiness_breakdown: {
    total: number;
    on_time: number;
    late: number;
    missing: number;
    floating: number;
  };
}

export interface Progress {
  id: number;
  context_id: number;
  context_type: string;
  user_id: number | null;
  tag: string;
  /** 0 to 100. */
  completion: number | null;
  workflow_state: "queued" | "running" | "completed" | "failed";
  created_at: string;
  updated_at: string;
  message: string | null;
  url: string;
  results?: unknown;
}

/** Access Tokens API (`/api/v1/users/:user_id/tokens`). */
export interface AccessToken {
  id: number;
  user_id: number;
  purpose: string | null;
  created_at: string;
  updated_at: string;
  /** Permanent expiry (`token[expires_at]`), or null. */
  expires_at: string | null;
  last_used_at: string | null;
  workflow_state: "active" | "pending" | "disabled" | "deleted" | string;
  /**
   * The FULL token only in the answers of create and regenerate; otherwise its first
   * characters followed by "...". **Treat it as a secret: store it, never log it.**
   */
  visible_token: string | null;
  can_manually_regenerate?: boolean;
  real_user_id?: number | null;
  remember_access?: boolean | null;
  scopes?: string[] | null;
  app_name?: string | null;
}

/** `PUT /api/v1/courses/:course_id/users/:user_id/last_attended` (Canvas's source returns `{ date }`). */
export interface LastAttendedResult {
  date: string;
}
