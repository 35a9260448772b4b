/**
 * The warehouse tables, one per kind, with the columns the export rows carry. Every table has
 * `course_id` (the unit of atomic replacement) and `sync_run_id` (the run that wrote the row).
 */
export type SyncKind = "enrollments" | "grades" | "submissions" | "attendance" | "engagement";

export const SYNC_KINDS: readonly SyncKind[] = [
  "enrollments",
  "grades",
  "submissions",
  "attendance",
  "engagement",
];

export interface TableSpec {
  table: string;
  /** Data columns in order, with their SQL types; `course_id` comes first in every table. */
  columns: readonly (readonly [name: string, sqlType: string])[];
  primaryKey: readonly string[];
  /**
   * When staging holds a key twice (two overlapping queries, or a page repeated while data changed),
   * the row with the greatest value of this SQL expression wins; otherwise any one.
   */
  newest?: string;
}

const ts = "timestamptz";

export const TABLES: Record<SyncKind | "courses" | "assignments" | "users", TableSpec> = {
  courses: {
    table: "courses",
    columns: [
      ["course_id", "bigint"],
      ["name", "text"],
      ["course_code", "text"],
      ["sis_course_id", "text"],
      ["enrollment_term_id", "bigint"],
      ["account_id", "bigint"],
      ["workflow_state", "text"],
      ["start_at", ts],
      ["end_at", ts],
    ],
    primaryKey: ["course_id"],
  },
  users: {
    table: "users",
    columns: [
      ["course_id", "bigint"],
      ["user_id", "bigint"],
      ["name", "text"],
      ["sortable_name", "text"],
      ["sis_user_id", "text"],
    ],
    primaryKey: ["course_id", "user_id"],
  },
  assignments: {
    table: "assignments",
    columns: [
      ["course_id", "bigint"],
      ["assignment_id", "bigint"],
      ["name", "text"],
      ["points_possible", "double precision"],
      ["grading_type", "text"],
      ["due_at", ts],
      ["published", "boolean"],
      ["omit_from_final_grade", "boolean"],
    ],
    primaryKey: ["course_id", "assignment_id"],
  },
  enrollments: {
    table: "enrollments",
    columns: [
      ["course_id", "bigint"],
      ["enrollment_id", "bigint"],
      ["user_id", "bigint"],
      ["type", "text"],
      ["role", "text"],
      ["enrollment_state", "text"],
      ["course_section_id", "bigint"],
      ["last_activity_at", ts],
      ["last_attended_at", ts],
      ["total_activity_time", "bigint"],
    ],
    primaryKey: ["course_id", "enrollment_id"],
  },
  grades: {
    table: "grades",
    columns: [
      ["course_id", "bigint"],
      ["user_id", "bigint"],
      ["current_score", "double precision"],
      ["final_score", "double precision"],
      ["current_grade", "text"],
      ["final_grade", "text"],
      ["unposted_current_score", "double precision"],
      ["unposted_final_score", "double precision"],
      ["unposted_current_grade", "text"],
      ["unposted_final_grade", "text"],
    ],
    primaryKey: ["course_id", "user_id"],
  },
  submissions: {
    table: "submissions",
    columns: [
      ["course_id", "bigint"],
      ["assignment_id", "bigint"],
      ["user_id", "bigint"],
      ["submission_id", "bigint"],
      ["score", "double precision"],
      ["grade", "text"],
      ["workflow_state", "text"],
      ["submitted_at", ts],
      ["graded_at", ts],
      ["late", "boolean"],
      ["missing", "boolean"],
      ["excused", "boolean"],
      ["seconds_late", "bigint"],
      ["attempt", "integer"],
    ],
    primaryKey: ["course_id", "assignment_id", "user_id"],
    newest: "greatest(submitted_at, graded_at) DESC NULLS LAST",
  },
  attendance: {
    table: "attendance",
    columns: [
      ["course_id", "bigint"],
      ["user_id", "bigint"],
      ["last_attended_at", ts],
      ["roll_call_score", "double precision"],
      ["roll_call_grade", "text"],
    ],
    primaryKey: ["course_id", "user_id"],
  },
  engagement: {
    table: "engagement",
    columns: [
      ["course_id", "bigint"],
      ["user_id", "bigint"],
      ["page_views", "bigint"],
      ["max_page_views", "bigint"],
      ["page_views_level", "integer"],
      ["participations", "bigint"],
      ["max_participations", "bigint"],
      ["participations_level", "integer"],
      ["tardiness_total", "integer"],
      ["tardiness_on_time", "integer"],
      ["tardiness_late", "integer"],
      ["tardiness_missing", "integer"],
      ["tardiness_floating", "integer"],
      ["last_activity_at", ts],
      ["total_activity_time", "bigint"],
    ],
    primaryKey: ["course_id", "user_id"],
  },
};

export type TableName = keyof typeof TABLES;

/** Quotes an SQL identifier (schema and table names come from options). */
export function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
