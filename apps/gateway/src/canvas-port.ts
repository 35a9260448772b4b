import type {
  Assignment,
  CanvasClient,
  Course,
  Enrollment,
  LastAttendedResult,
  Progress,
  StudentSubmissions,
  StudentSummary,
  User,
} from "@easel/canvas-client";

/** Canvas's cap on explicit `student_ids[]` per submissions request. */
export const MAX_STUDENT_IDS = 100;

/** The Roll Call LTI tool's assignment (rollcall app/models/attendance_assignment.rb). */
export const ROLL_CALL_ASSIGNMENT_NAME = "Roll Call Attendance";

/** One student's entry of a bulk grade update. */
export interface GradeChange {
  studentId: number;
  postedGrade?: string | null | undefined;
  excuse?: boolean | null | undefined;
  comment?: string | null | undefined;
}

/**
 * The Canvas reads and writes the gateway makes, each ONE Canvas call (a list is one paginated
 * walk at per_page=100). Loaders decide which to call; this layer only speaks Canvas's dialect.
 */
export interface CanvasPort {
  self(signal?: AbortSignal): Promise<User>;
  courses(signal?: AbortSignal): Promise<Course[]>;
  course(courseId: number, signal?: AbortSignal): Promise<Course>;
  /** `type[]=StudentEnrollment`; with `userId`, that student's enrollments only ("self": the caller's). */
  studentEnrollments(
    courseId: number,
    userId: number | "self" | undefined,
    signal?: AbortSignal,
  ): Promise<Enrollment[]>;
  assignments(courseId: number, signal?: AbortSignal): Promise<Assignment[]>;
  /** `students/submissions?grouped=1`: Canvas paginates it by STUDENT, so 100 students a page. */
  groupedSubmissions(
    courseId: number,
    studentIds: "all" | readonly number[],
    assignmentIds: readonly number[] | undefined,
    signal?: AbortSignal,
  ): Promise<StudentSubmissions[]>;
  /** Analytics `student_summaries`; with `studentId`, one row. */
  studentSummaries(
    courseId: number,
    studentId: number | undefined,
    signal?: AbortSignal,
  ): Promise<StudentSummary[]>;
  progress(progressId: number, signal?: AbortSignal): Promise<Progress>;
  updateGrades(courseId: number, assignmentId: number, grades: readonly GradeChange[]): Promise<Progress>;
  setLastAttended(courseId: number, userId: number, date: string): Promise<LastAttendedResult>;
}

function opts(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

/** The port over `@easel/canvas-client` (paths and parameters from canvas-api.md §6-§9). */
export function canvasPortFor(client: CanvasClient): CanvasPort {
  return {
    self: (signal) => client.request<User>("GET", "/api/v1/users/self", opts(signal)),
    courses: (signal) => client.collect<Course>("/api/v1/courses", { include: ["term"] }, opts(signal)),
    course: (courseId, signal) =>
      client.request<Course>("GET", `/api/v1/courses/${courseId}`, {
        query: { include: ["term"] },
        ...opts(signal),
      }),
    studentEnrollments: (courseId, userId, signal) =>
      client.collect<Enrollment>(
        `/api/v1/courses/${courseId}/enrollments`,
        userId === undefined
          ? { type: ["StudentEnrollment"] }
          : { type: ["StudentEnrollment"], user_id: userId },
        opts(signal),
      ),
    assignments: (courseId, signal) =>
      client.collect<Assignment>(`/api/v1/courses/${courseId}/assignments`, undefined, opts(signal)),
    groupedSubmissions: async (courseId, studentIds, assignmentIds, signal) => {
      const base = {
        grouped: true,
        ...(assignmentIds && assignmentIds.length > 0 ? { assignment_ids: [...assignmentIds] } : {}),
      };
      const path = `/api/v1/courses/${courseId}/students/submissions`;
      if (studentIds === "all") {
        return client.collect<StudentSubmissions>(path, { ...base, student_ids: ["all"] }, opts(signal));
      }
      const chunks: number[][] = [];
      for (let i = 0; i < studentIds.length; i += MAX_STUDENT_IDS) {
        chunks.push(studentIds.slice(i, i + MAX_STUDENT_IDS));
      }
      const pages = await Promise.all(
        chunks.map((ids) =>
          client.collect<StudentSubmissions>(path, { ...base, student_ids: ids }, opts(signal)),
        ),
      );
      return pages.flat();
    },
    studentSummaries: (courseId, studentId, signal) =>
      client.collect<StudentSummary>(
        `/api/v1/courses/${courseId}/analytics/student_summaries`,
        studentId === undefined ? undefined : { student_id: studentId },
        opts(signal),
      ),
    progress: (progressId, signal) =>
      client.request<Progress>("GET", `/api/v1/progress/${progressId}`, opts(signal)),
    updateGrades: (courseId, assignmentId, grades) => {
      const gradeData: Record<string, Record<string, string | boolean>> = {};
      for (const change of grades) {
        const entry: Record<string, string | boolean> = {};
        if (change.postedGrade !== undefined && change.postedGrade !== null)
          entry.posted_grade = change.postedGrade;
        if (change.excuse !== undefined && change.excuse !== null) entry.excuse = change.excuse;
        if (change.comment !== undefined && change.comment !== null) entry.text_comment = change.comment;
        gradeData[String(change.studentId)] = entry;
      }
      return client.request<Progress>(
        "POST",
        `/api/v1/courses/${courseId}/assignments/${assignmentId}/submissions/update_grades`,
        { form: { grade_data: gradeData } },
      );
    },
    setLastAttended: (courseId, userId, date) =>
      client.request<LastAttendedResult>("PUT", `/api/v1/courses/${courseId}/users/${userId}/last_attended`, {
        form: { date },
      }),
  };
}
