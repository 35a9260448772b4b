import { CanvasClient } from "@easel/canvas-client";
import { type CanvasObject, type CanvasSim, type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";
import { parse } from "csv-parse/sync";
import { type CellValue, columnsOf, type ExportFormat, type ExportKind } from "../src/index.js";

export const ALL_STATES = ["active", "invited", "inactive", "completed"] as const;

/** A small simulator: fast, throttle off unless asked, every kind represented. */
export function startSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  return createCanvasSim({
    seed: 7,
    courses: 6,
    studentsPerCourse: 40,
    assignmentsPerCourse: 6,
    throttle: false,
    ...options,
  });
}

/**
 * A client with short backoffs so fault tests stay fast: injected throttles answer "0 remaining",
 * and at Canvas's real leak rate (10 units/s) the pacer would wait seconds each time.
 */
export function clientFor(sim: CanvasSim, token: string = sim.developerToken): CanvasClient {
  return new CanvasClient({
    baseUrl: sim.url,
    auth: token,
    maxConcurrency: 16,
    timeoutMs: 10_000,
    retry: { retries: 10, minDelayMs: 5, maxDelayMs: 50, rateLimitRetries: 50 },
    pacing: { leakPerSecond: 2000 },
  });
}

type Expected = Record<string, CellValue>;

const s = (v: unknown): string | null => (typeof v === "string" ? v : null);
const n = (v: unknown): number | null => (typeof v === "number" ? v : null);
const o = (v: unknown): Record<string, unknown> =>
  typeof v === "object" && v !== null ? (v as Record<string, unknown>) : {};

function uniqueStudents(enrollments: CanvasObject[]): CanvasObject[] {
  const seen = new Set<unknown>();
  return enrollments.filter((e) => {
    if (seen.has(e.user_id)) return false;
    seen.add(e.user_id);
    return true;
  });
}

/**
 * What an export must contain, computed from the simulator's ground truth (`sim.data`), not from
 * the API: a second, independent path to the same rows.
 */
export function expectedRows(sim: CanvasSim, kind: ExportKind, courseIds: readonly number[]): Expected[] {
  const rows: Expected[] = [];
  const data = sim.data;
  for (const c of [...courseIds].sort((a, b) => a - b)) {
    const students = () =>
      uniqueStudents(data.enrollments(c, { type: ["StudentEnrollment"], state: ALL_STATES }));
    switch (kind) {
      case "courses": {
        const course = data.course(c)!;
        rows.push({
          course_id: c,
          sis_course_id: s(course.sis_course_id),
          name: s(course.name),
          course_code: s(course.course_code),
          workflow_state: s(course.workflow_state),
          account_id: n(course.account_id),
          enrollment_term_id: n(course.enrollment_term_id),
          start_at: s(course.start_at),
          end_at: s(course.end_at),
        });
        break;
      }
      case "enrollments":
        for (const e of data.enrollments(c, { state: ALL_STATES })) {
          const user = o(e.user);
          rows.push({
            course_id: c,
            enrollment_id: e.id,
            user_id: n(e.user_id),
            sis_user_id: s(e.sis_user_id),
            user_name: s(user.name),
            sortable_name: s(user.sortable_name),
            type: s(e.type),
            role: s(e.role),
            enrollment_state: s(e.enrollment_state),
            course_section_id: n(e.course_section_id),
            created_at: s(e.created_at),
            updated_at: s(e.updated_at),
            last_activity_at: s(e.last_activity_at),
            last_attended_at: s(e.last_attended_at),
            total_activity_time: n(e.total_activity_time),
          });
        }
        break;
      case "grades":
        for (const e of students()) {
          const user = o(e.user);
          const g = data.grades(c, e.user_id as number)!;
          rows.push({
            course_id: c,
            user_id: n(e.user_id),
            sis_user_id: s(e.sis_user_id),
            user_name: s(user.name),
            sortable_name: s(user.sortable_name),
            enrollment_state: s(e.enrollment_state),
            current_score: n(g.current_score),
            final_score: n(g.final_score),
            current_grade: s(g.current_grade),
            final_grade: s(g.final_grade),
            // The token is the admin's: a grader sees the unposted scores (equal here: all posted).
            unposted_current_score: n(g.current_score),
            unposted_final_score: n(g.final_score),
          });
        }
        break;
      case "submissions": {
        // By student, then the assignment list's order; the simulator keeps them by submission id.
        const place = new Map<unknown, number>(data.assignments(c).map((a, i) => [a.id, i]));
        const byStudent = [...data.submissions(c)].sort(
          (a, b) =>
            Number(a.user_id) - Number(b.user_id) ||
            place.get(a.assignment_id)! - place.get(b.assignment_id)!,
        );
        for (const sub of byStudent) {
          rows.push({
            course_id: c,
            assignment_id: n(sub.assignment_id),
            user_id: n(sub.user_id),
            submission_id: sub.id,
            score: n(sub.score),
            grade: s(sub.grade),
            workflow_state: s(sub.workflow_state),
            submitted_at: s(sub.submitted_at),
            graded_at: s(sub.graded_at),
            late: sub.late === true,
            missing: sub.missing === true,
            excused: sub.excused === true,
            seconds_late: n(sub.seconds_late),
            attempt: n(sub.attempt),
          });
        }
        break;
      }
      case "assignments":
        for (const a of data.assignments(c)) {
          rows.push({
            course_id: c,
            assignment_id: a.id,
            name: s(a.name),
            points_possible: n(a.points_possible),
            grading_type: s(a.grading_type),
            submission_types: (a.submission_types as string[]).join(","),
            due_at: s(a.due_at),
            unlock_at: s(a.unlock_at),
            lock_at: s(a.lock_at),
            published: a.published === true,
            omit_from_final_grade:
              typeof a.omit_from_final_grade === "boolean" ? a.omit_from_final_grade : null,
            assignment_group_id: n(a.assignment_group_id),
            position: n(a.position),
          });
        }
        break;
      case "attendance": {
        const rollCall = data.assignments(c).find((a) => a.name === "Roll Call Attendance");
        for (const e of students()) {
          const userId = e.user_id as number;
          const sub = rollCall ? data.submission(c, rollCall.id, userId) : undefined;
          rows.push({
            course_id: c,
            user_id: userId,
            last_attended_at: data.lastAttended(c, userId),
            roll_call_assignment_id: rollCall ? rollCall.id : null,
            roll_call_score: sub ? n(sub.score) : null,
            roll_call_grade: sub ? s(sub.grade) : null,
          });
        }
        break;
      }
      case "engagement": {
        const summaries = new Map(data.studentSummaries(c).map((row) => [row.id, row]));
        for (const e of students()) {
          const userId = e.user_id as number;
          const sum = summaries.get(userId);
          const t = sum?.tardiness_breakdown;
          rows.push({
            course_id: c,
            user_id: userId,
            page_views: sum?.page_views ?? null,
            max_page_views: sum?.max_page_views ?? null,
            page_views_level: sum?.page_views_level ?? null,
            participations: sum?.participations ?? null,
            max_participations: sum?.max_participations ?? null,
            participations_level: sum?.participations_level ?? null,
            tardiness_total: t?.total ?? null,
            tardiness_on_time: t?.on_time ?? null,
            tardiness_late: t?.late ?? null,
            tardiness_missing: t?.missing ?? null,
            tardiness_floating: t?.floating ?? null,
            last_activity_at: s(e.last_activity_at),
            total_activity_time: n(e.total_activity_time),
          });
        }
        break;
      }
    }
  }
  return rows;
}

/** Parses an export back into rows of strings (CSV) or JSON values (NDJSON). */
export function parseExport(text: string, format: ExportFormat): Array<Record<string, unknown>> {
  if (format === "csv") {
    return parse(text, { columns: true, record_delimiter: "\r\n" }) as Array<Record<string, unknown>>;
  }
  if (text === "") return [];
  expectTrailingNewline(text);
  return text
    .slice(0, -1)
    .split("\n")
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function expectTrailingNewline(text: string): void {
  if (!text.endsWith("\n")) throw new Error("NDJSON output must end with a newline");
}

/** Expected rows as a format shows them: CSV cells are strings ("" for null). */
export function asFormat(
  rows: Expected[],
  format: ExportFormat,
  kind: ExportKind,
): Array<Record<string, unknown>> {
  const columns = columnsOf(kind);
  return rows.map((row) =>
    Object.fromEntries(
      columns.map((c) => {
        const value = row[c];
        if (value === undefined) throw new Error(`expected row lacks ${c}`);
        return [c, format === "csv" ? (value === null ? "" : String(value)) : value];
      }),
    ),
  );
}
