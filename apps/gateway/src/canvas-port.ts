import type {
  Assignment,
  CanvasClient,
  Course,
  Enrollment,
  LastAttendedResult,
  Progress,
  StudentGradeChange,
  StudentSubmissions,
  StudentSummary,
  User,
} from "@easel/canvas-client";

// Canvas's limits and names live in @easel/canvas-client; re-exported for the loaders and schema.
export { MAX_STUDENT_IDS, ROLL_CALL_ASSIGNMENT_NAME } from "@easel/canvas-client";

/** One student's entry of a bulk grade update (canvas-client writes it as `grade_data`). */
export interface GradeChange extends StudentGradeChange {
  studentId: number;
  postedGrade?: string | null | undefined;
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

function paging(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal ? { signal } : {};
}

async function toArray<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

/**
 * The port over `@easel/canvas-client`'s endpoint groups: every Canvas path, parameter and limit
 * is written there, once; this layer only picks the call and collects the list.
 */
export function canvasPortFor(client: CanvasClient): CanvasPort {
  return {
    self: (signal) => client.users.self(paging(signal)),
    courses: (signal) => toArray(client.courses.list({ include: ["term"] }, paging(signal))),
    course: (courseId, signal) => client.courses.get(courseId, { include: ["term"], ...paging(signal) }),
    studentEnrollments: (courseId, userId, signal) =>
      toArray(
        client.enrollments.forCourse(
          courseId,
          userId === undefined ? { type: ["StudentEnrollment"] } : { type: ["StudentEnrollment"], userId },
          paging(signal),
        ),
      ),
    assignments: (courseId, signal) => toArray(client.assignments.list(courseId, {}, paging(signal))),
    // Chunks (<= MAX_STUDENT_IDS ids, URLs under the client's maxUrlLength) are canvas-client's call.
    groupedSubmissions: (courseId, studentIds, assignmentIds, signal) =>
      toArray(
        client.submissions.forStudents(
          courseId,
          {
            grouped: true,
            studentIds,
            ...(assignmentIds && assignmentIds.length > 0 ? { assignmentIds } : {}),
          },
          paging(signal),
        ),
      ),
    studentSummaries: (courseId, studentId, signal) =>
      toArray(
        client.analytics.studentSummaries(
          courseId,
          studentId === undefined ? {} : { studentId },
          paging(signal),
        ),
      ),
    progress: (progressId, signal) => client.progress.get(progressId, paging(signal)),
    updateGrades: (courseId, assignmentId, grades) => client.grades.update(courseId, assignmentId, grades),
    setLastAttended: (courseId, userId, date) => client.enrollments.setLastAttended(courseId, userId, date),
  };
}
