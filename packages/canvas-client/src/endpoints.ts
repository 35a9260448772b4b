/**
 * Canvas's REST vocabulary: every path, query parameter and limit the workspace sends to Canvas is
 * written here, in one typed group per resource, so a reader finds any Canvas call in one hop. Longer
 * than 500 lines on purpose: splitting the groups across files would scatter that one vocabulary.
 */
import type { CanvasClient, PaginateOptions } from "./client.js";
import { encodedPairLength, encodeParams, type Params } from "./encode.js";
import { CanvasProgressFailedError } from "./errors.js";
import { MAX_PER_PAGE } from "./options.js";
import type {
  AccessToken,
  Assignment,
  CanvasId,
  Course,
  Enrollment,
  EnrollmentState,
  EnrollmentType,
  LastAttendedResult,
  Progress,
  StudentSubmissions,
  StudentSummary,
  Submission,
  User,
} from "./types.js";

/**
 * What the endpoint groups need from a client. `CanvasClient` is one (its groups are built over
 * itself); a wrapper that forwards these four members (a test hook, extra logging) is another,
 * and `canvasEndpoints(wrapper)` then sends every call through it. `pages` is optional: the
 * page-at-a-time lists (`forStudentsPages`) use it when the transport has it, and otherwise batch
 * what `paginate` yields, so a wrapper of the four members still sees every list.
 */
export type CanvasTransport = Pick<CanvasClient, "request" | "paginate" | "resolve" | "options"> &
  Partial<Pick<CanvasClient, "pages">>;

/**
 * A list as arrays of items, one per page: a consumer of a 10,000-page list then pays the async
 * iteration once per page instead of once per item (a million items through a chain of async
 * generators cost about a second of CPU). Without `pages` on the transport, batches of up to
 * `MAX_PER_PAGE` of what `paginate` yields: the same items in the same order.
 */
async function* pagesOf<T>(
  client: CanvasTransport,
  path: string,
  query: Params,
  paging: PaginateOptions | undefined,
): AsyncGenerator<T[]> {
  if (typeof client.pages === "function") {
    for await (const page of client.pages<T>(path, query, paging)) {
      if (page.items.length > 0) yield page.items;
    }
    return;
  }
  let batch: T[] = [];
  for await (const item of client.paginate<T>(path, query, paging)) {
    batch.push(item);
    if (batch.length >= MAX_PER_PAGE) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

function seg(id: CanvasId, name: string): string {
  if ((typeof id !== "number" || !Number.isFinite(id)) && (typeof id !== "string" || id.length === 0)) {
    const error = new TypeError(
      `"${name}" must be a Canvas id (number or non-empty string); received ${String(id)}`,
    );
    (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
    throw error;
  }
  return encodeURIComponent(String(id));
}

function isoDate(value: Date | string | undefined): string | undefined {
  if (value === undefined) return undefined;
  return value instanceof Date ? value.toISOString() : value;
}

/** `/api/v1/courses` and single courses. */
export class CoursesApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * Courses of the caller (`GET /api/v1/courses`). Canvas has no term filter on this route, so
   * `enrollmentTermId` filters the stream client-side (use `accounts.courses` for a server-side one).
   */
  async *list(
    options: {
      include?: readonly string[];
      state?: readonly ("unpublished" | "available" | "completed" | "deleted")[];
      enrollmentType?: "teacher" | "student" | "ta" | "observer" | "designer";
      enrollmentState?: "active" | "invited_or_pending" | "completed";
      enrollmentTermId?: number;
    } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<Course> {
    const query: Params = {
      include: options.include,
      state: options.state,
      enrollment_type: options.enrollmentType,
      enrollment_state: options.enrollmentState,
    };
    for await (const course of this.client.paginate<Course>("/api/v1/courses", query, paging)) {
      if (options.enrollmentTermId === undefined || course.enrollment_term_id === options.enrollmentTermId) {
        yield course;
      }
    }
  }

  /** `GET /api/v1/courses/:id`. */
  get(
    courseId: CanvasId,
    options: { include?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<Course> {
    return this.client.request<Course>("GET", `/api/v1/courses/${seg(courseId, "courseId")}`, {
      query: { include: options.include },
      signal: options.signal,
    });
  }

  /** Students of a course (`GET /api/v1/courses/:id/users?enrollment_type[]=student`). */
  students(
    courseId: CanvasId,
    options: { include?: readonly string[]; enrollmentState?: readonly string[] } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<User> {
    return this.client.paginate<User>(
      `/api/v1/courses/${seg(courseId, "courseId")}/users`,
      { enrollment_type: ["student"], include: options.include, enrollment_state: options.enrollmentState },
      paging,
    );
  }
}

/** `/api/v1/accounts/:id/...`. */
export class AccountsApi {
  constructor(private readonly client: CanvasTransport) {}

  /** Courses of an account (`GET /api/v1/accounts/:id/courses`), needs an account admin. */
  courses(
    accountId: CanvasId,
    options: {
      enrollmentTermId?: number;
      include?: readonly string[];
      state?: readonly string[];
      published?: boolean;
      withEnrollments?: boolean;
      searchTerm?: string;
    } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<Course> {
    return this.client.paginate<Course>(
      `/api/v1/accounts/${seg(accountId, "accountId")}/courses`,
      {
        enrollment_term_id: options.enrollmentTermId,
        include: options.include,
        state: options.state,
        published: options.published,
        with_enrollments: options.withEnrollments,
        search_term: options.searchTerm,
      },
      paging,
    );
  }
}

/** `/api/v1/users`. */
export class UsersApi {
  constructor(private readonly client: CanvasTransport) {}

  /** The caller (`GET /api/v1/users/self`). */
  self(options: { signal?: AbortSignal } = {}): Promise<User> {
    return this.client.request<User>("GET", "/api/v1/users/self", { signal: options.signal });
  }

  /** `GET /api/v1/users/:id`. */
  get(userId: CanvasId, options: { signal?: AbortSignal } = {}): Promise<User> {
    return this.client.request<User>("GET", `/api/v1/users/${seg(userId, "userId")}`, {
      signal: options.signal,
    });
  }
}

/** `/api/v1/courses/:id/enrollments` and last attendance. */
export class EnrollmentsApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * Enrollments of a course, with `grades`, `last_activity_at`, `last_attended_at` and
   * `total_activity_time` (`GET /api/v1/courses/:id/enrollments`).
   * @example
   * canvas.enrollments.forCourse(1, { type: ["StudentEnrollment"], state: ["active"] })
   */
  forCourse(
    courseId: CanvasId,
    options: {
      type?: readonly (EnrollmentType | string)[];
      role?: readonly string[];
      state?: readonly (EnrollmentState | string)[];
      include?: readonly string[];
      userId?: CanvasId;
      gradingPeriodId?: number;
    } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<Enrollment> {
    return this.client.paginate<Enrollment>(
      `/api/v1/courses/${seg(courseId, "courseId")}/enrollments`,
      {
        type: options.type,
        role: options.role,
        state: options.state,
        include: options.include,
        user_id: options.userId,
        grading_period_id: options.gradingPeriodId,
      },
      paging,
    );
  }

  /**
   * Sets `last_attended_at` on all of the user's enrollments in the course
   * (`PUT /api/v1/courses/:course_id/users/:user_id/last_attended`). Canvas answers `{ date }`.
   */
  setLastAttended(
    courseId: CanvasId,
    userId: CanvasId,
    date: Date | string,
    options: { signal?: AbortSignal } = {},
  ): Promise<LastAttendedResult> {
    return this.client.request<LastAttendedResult>(
      "PUT",
      `/api/v1/courses/${seg(courseId, "courseId")}/users/${seg(userId, "userId")}/last_attended`,
      { form: { date: isoDate(date) }, signal: options.signal },
    );
  }
}

/** The assignment the Roll Call Attendance LTI tool keeps its grades in (rollcall's attendance_assignment.rb). */
export const ROLL_CALL_ASSIGNMENT_NAME = "Roll Call Attendance";

/** True for the Roll Call Attendance tool's assignment (by its exact name). */
export function isRollCallAssignment(assignment: Pick<Assignment, "name">): boolean {
  return assignment.name === ROLL_CALL_ASSIGNMENT_NAME;
}

/** `/api/v1/courses/:id/assignments`. */
export class AssignmentsApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * The course's Roll Call Attendance assignment (the first in Canvas's order, published or
   * not), or undefined when the tool is not installed. `search_term` narrows the list on Canvas;
   * the exact-name check keeps "Roll Call Attendance (old)" out.
   */
  async findRollCall(courseId: CanvasId, paging?: PaginateOptions): Promise<Assignment | undefined> {
    for await (const assignment of this.list(courseId, { searchTerm: ROLL_CALL_ASSIGNMENT_NAME }, paging)) {
      if (isRollCallAssignment(assignment)) return assignment;
    }
    return undefined;
  }

  list(
    courseId: CanvasId,
    options: { include?: readonly string[]; bucket?: string; searchTerm?: string } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<Assignment> {
    return this.client.paginate<Assignment>(
      `/api/v1/courses/${seg(courseId, "courseId")}/assignments`,
      { include: options.include, bucket: options.bucket, search_term: options.searchTerm },
      paging,
    );
  }

  get(
    courseId: CanvasId,
    assignmentId: CanvasId,
    options: { signal?: AbortSignal } = {},
  ): Promise<Assignment> {
    return this.client.request<Assignment>(
      "GET",
      `/api/v1/courses/${seg(courseId, "courseId")}/assignments/${seg(assignmentId, "assignmentId")}`,
      { signal: options.signal },
    );
  }
}

export interface ForStudentsOptions {
  /** `"all"`, or explicit ids (split into requests of at most 100 ids, URLs under `maxUrlLength`). */
  studentIds: "all" | readonly CanvasId[];
  assignmentIds?: readonly CanvasId[];
  workflowState?: "submitted" | "unsubmitted" | "graded" | "pending_review";
  enrollmentState?: "active" | "concluded";
  include?: readonly string[];
  submittedSince?: Date | string;
  gradedSince?: Date | string;
  gradingPeriodId?: number;
  order?: "id" | "graded_at";
  orderDirection?: "ascending" | "descending";
  /**
   * `per_page`: submissions a page, or students a page with `grouped` (see `submissionsPlan` for how
   * many a grouped page should hold). @default the client's `perPage`
   */
  perPage?: number;
}

/**
 * The URL a readiness check asks without a credential: any answer below 500 (a 401 is expected)
 * means Canvas is up. `GET /api/v1/users/self` is the cheapest authenticated route Canvas has.
 */
export function canvasProbeUrl(baseUrl: string): string {
  return new URL("/api/v1/users/self", baseUrl).href;
}

/** Canvas answers 400 "too many students" above this many explicit `student_ids[]`. */
export const MAX_STUDENT_IDS = 100;
// Room left in the URL for what Canvas appends to next links (page=bookmark:..., per_page).
const NEXT_LINK_RESERVE = 400;

function dedupe(ids: readonly CanvasId[]): CanvasId[] {
  const seen = new Set<string>();
  const out: CanvasId[] = [];
  for (const id of ids) {
    const key = String(id);
    if (!seen.has(key)) {
      seen.add(key);
      out.push(id);
    }
  }
  return out;
}

/** Greedy chunks of `key[]=id` pairs: at most `maxCount` ids and `budget` bytes each. */
function chunkIds(key: string, ids: readonly CanvasId[], maxCount: number, budget: number): CanvasId[][] {
  const chunks: CanvasId[][] = [];
  let current: CanvasId[] = [];
  let size = 0;
  for (const id of ids) {
    const length = encodedPairLength(`${key}[]`, id);
    if (current.length > 0 && (current.length >= maxCount || size + length > budget)) {
      chunks.push(current);
      current = [];
      size = 0;
    }
    current.push(id);
    size += length;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/** Submissions. */
export class SubmissionsApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * `GET /api/v1/courses/:id/students/submissions` for many students. Explicit `studentIds` are
   * sent in chunks (≤ 100 ids and a URL under `maxUrlLength` each) whose streams are concatenated
   * in the order of the ids. With `grouped: true` each element is one student with their
   * submissions; if `assignmentIds` is too long for one URL it is chunked too, and then a grouped
   * student appears once per assignment chunk.
   */
  forStudents(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped: true },
    paging?: PaginateOptions,
  ): AsyncGenerator<StudentSubmissions>;
  forStudents(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped?: false },
    paging?: PaginateOptions,
  ): AsyncGenerator<Submission>;
  async *forStudents(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped?: boolean },
    paging?: PaginateOptions,
  ): AsyncGenerator<Submission | StudentSubmissions> {
    for (const list of this.studentLists(courseId, options)) {
      yield* this.client.paginate<Submission | StudentSubmissions>(list.path, list.query, paging);
    }
  }

  /**
   * `forStudents`, a page at a time: each element is one page's items (never empty), in the same
   * order. For consumers of very long lists (a course's every submission), which then pay the
   * async iteration per page instead of per item.
   */
  forStudentsPages(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped: true },
    paging?: PaginateOptions,
  ): AsyncGenerator<StudentSubmissions[]>;
  forStudentsPages(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped?: false },
    paging?: PaginateOptions,
  ): AsyncGenerator<Submission[]>;
  async *forStudentsPages(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped?: boolean },
    paging?: PaginateOptions,
  ): AsyncGenerator<Submission[] | StudentSubmissions[]> {
    for (const list of this.studentLists(courseId, options)) {
      yield* pagesOf<Submission | StudentSubmissions>(
        this.client,
        list.path,
        list.query,
        paging,
      ) as AsyncGenerator<Submission[] | StudentSubmissions[]>;
    }
  }

  /** The lists `forStudents` walks, in order: one per chunk of assignment ids and student ids. */
  private studentLists(
    courseId: CanvasId,
    options: ForStudentsOptions & { grouped?: boolean },
  ): Array<{ path: string; query: Params }> {
    const path = `/api/v1/courses/${seg(courseId, "courseId")}/students/submissions`;
    const query: Params = {
      grouped: options.grouped ? true : undefined,
      workflow_state: options.workflowState,
      enrollment_state: options.enrollmentState,
      include: options.include,
      submitted_since: isoDate(options.submittedSince),
      graded_since: isoDate(options.gradedSince),
      grading_period_id: options.gradingPeriodId,
      order: options.order,
      order_direction: options.orderDirection,
      per_page: options.perPage,
    };
    const { studentIds } = options;
    if (studentIds !== "all" && !Array.isArray(studentIds)) {
      const error = new TypeError('forStudents option "studentIds" must be "all" or an array of ids');
      (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
      throw error;
    }
    const fixed = this.client.resolve(path, { ...query, per_page: 100 }).href.length + NEXT_LINK_RESERVE;
    const budget = Math.max(256, this.client.options.maxUrlLength - fixed);
    const assignmentIds = options.assignmentIds ? dedupe(options.assignmentIds) : undefined;
    if (assignmentIds !== undefined && assignmentIds.length === 0) return [];
    const assignmentChunks: Array<CanvasId[] | undefined> =
      assignmentIds === undefined
        ? [undefined]
        : chunkIds("assignment_ids", assignmentIds, Number.POSITIVE_INFINITY, Math.floor(budget / 2));
    const lists: Array<{ path: string; query: Params }> = [];
    for (const assignmentChunk of assignmentChunks) {
      const withAssignments: Params = { ...query, assignment_ids: assignmentChunk };
      if (studentIds === "all") {
        lists.push({ path, query: { ...withAssignments, student_ids: ["all"] } });
        continue;
      }
      const used = encodeParams({ assignment_ids: assignmentChunk }).length;
      for (const chunk of chunkIds("student_ids", dedupe(studentIds), MAX_STUDENT_IDS, budget - used)) {
        lists.push({ path, query: { ...withAssignments, student_ids: chunk } });
      }
    }
    return lists;
  }

  /** `GET /api/v1/courses/:course_id/assignments/:assignment_id/submissions`. */
  forAssignment(
    courseId: CanvasId,
    assignmentId: CanvasId,
    options: { include?: readonly string[]; grouped?: boolean } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<Submission> {
    return this.client.paginate<Submission>(
      `/api/v1/courses/${seg(courseId, "courseId")}/assignments/${seg(assignmentId, "assignmentId")}/submissions`,
      { include: options.include, grouped: options.grouped ? true : undefined },
      paging,
    );
  }

  /** `GET /api/v1/courses/:course_id/assignments/:assignment_id/submissions/:user_id`. */
  get(
    courseId: CanvasId,
    assignmentId: CanvasId,
    userId: CanvasId,
    options: { include?: readonly string[]; signal?: AbortSignal } = {},
  ): Promise<Submission> {
    return this.client.request<Submission>(
      "GET",
      `/api/v1/courses/${seg(courseId, "courseId")}/assignments/${seg(assignmentId, "assignmentId")}/submissions/${seg(userId, "userId")}`,
      { query: { include: options.include }, signal: options.signal },
    );
  }
}

/** Analytics plugin. */
export class AnalyticsApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * `GET /api/v1/courses/:id/analytics/student_summaries`: page views, participations and
   * tardiness per student. 404 (`CanvasNotFoundError`) when analytics is disabled.
   */
  studentSummaries(
    courseId: CanvasId,
    options: {
      sortColumn?:
        | "name"
        | "name_descending"
        | "score"
        | "score_descending"
        | "participations"
        | "participations_descending"
        | "page_views"
        | "page_views_descending";
      studentId?: CanvasId;
    } = {},
    paging?: PaginateOptions,
  ): AsyncGenerator<StudentSummary> {
    return this.client.paginate<StudentSummary>(
      `/api/v1/courses/${seg(courseId, "courseId")}/analytics/student_summaries`,
      { sort_column: options.sortColumn, student_id: options.studentId },
      paging,
    );
  }
}

export interface WaitForProgressOptions {
  /** Called with every polled Progress (including the final one). */
  onProgress?: (progress: Progress) => void;
  signal?: AbortSignal;
  /** First poll interval; grows ×1.5 per poll up to `maxIntervalMs`. @default 500 */
  intervalMs?: number;
  /** @default 5000 */
  maxIntervalMs?: number;
}

/** `/api/v1/progress/:id`. */
export class ProgressApi {
  constructor(private readonly client: CanvasTransport) {}

  get(progressId: CanvasId, options: { signal?: AbortSignal } = {}): Promise<Progress> {
    return this.client.request<Progress>("GET", `/api/v1/progress/${seg(progressId, "progressId")}`, {
      signal: options.signal,
    });
  }

  /**
   * Polls until `workflow_state` is `completed` (resolves with it) or `failed`: then it THROWS
   * `CanvasProgressFailedError` (code `PROGRESS_FAILED`) whose `message` carries Canvas's
   * progress message and whose `progress` is the failed Progress. For bulk grading a failure
   * can be partial: the students Canvas could find were graded.
   */
  async waitFor(progressId: CanvasId, options: WaitForProgressOptions = {}): Promise<Progress> {
    let interval = options.intervalMs ?? 500;
    const maxInterval = Math.max(interval, options.maxIntervalMs ?? 5000);
    for (;;) {
      const progress = await this.get(progressId, { signal: options.signal });
      options.onProgress?.(progress);
      if (progress.workflow_state === "completed") return progress;
      if (progress.workflow_state === "failed") {
        throw new CanvasProgressFailedError(
          `Canvas progress ${progress.id} (${progress.tag}) failed${progress.message ? `: ${progress.message}` : ""}`,
          progress,
          { method: "GET", path: `/api/v1/progress/${progress.id}`, status: 200 },
        );
      }
      await this.client.options.clock.sleep(interval, options.signal);
      interval = Math.min(maxInterval, Math.round(interval * 1.5));
    }
  }
}

/** Per-student grade data of `update_grades` (Canvas's `grade_data[<student_id>][...]`). */
export interface GradeUpdate {
  posted_grade?: string | number;
  excuse?: boolean;
  text_comment?: string;
  group_comment?: boolean;
  media_comment_id?: string;
  media_comment_type?: "audio" | "video";
  file_ids?: readonly number[];
}

/** One student's change, camelCase; `null` and `undefined` fields are left out of the request. */
export interface StudentGradeChange {
  studentId: CanvasId;
  postedGrade?: string | number | null | undefined;
  excuse?: boolean | null | undefined;
  comment?: string | null | undefined;
}

function gradeDataOf(
  grades: Readonly<Record<string, GradeUpdate>> | readonly StudentGradeChange[],
): Record<string, Params> {
  const gradeData: Record<string, Params> = {};
  if (Array.isArray(grades)) {
    for (const change of grades as readonly StudentGradeChange[]) {
      gradeData[String(change.studentId)] = {
        posted_grade: change.postedGrade,
        excuse: change.excuse,
        text_comment: change.comment,
      };
    }
    return gradeData;
  }
  for (const [studentId, update] of Object.entries(grades)) gradeData[studentId] = { ...update };
  return gradeData;
}

/** Bulk grading. */
export class GradesApi {
  constructor(private readonly client: CanvasTransport) {}

  /**
   * `POST /api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades`;
   * resolves the Progress of the job (wait with `progress.waitFor`). Not replayed after a lost
   * answer (a comment would be posted twice): you get `maybeApplied: true` instead.
   * @example
   * const p = await canvas.grades.update(1, 7, { 42: { posted_grade: "A" }, 43: { excuse: true } });
   * await canvas.progress.waitFor(p.id);
   * // or, camelCase per student:
   * await canvas.grades.update(1, 7, [{ studentId: 42, postedGrade: "A", comment: "Well done" }]);
   */
  update(
    courseId: CanvasId,
    assignmentId: CanvasId,
    grades: Readonly<Record<string, GradeUpdate>> | readonly StudentGradeChange[],
    options: { signal?: AbortSignal } = {},
  ): Promise<Progress> {
    return this.client.request<Progress>(
      "POST",
      `/api/v1/courses/${seg(courseId, "courseId")}/assignments/${seg(assignmentId, "assignmentId")}/submissions/update_grades`,
      { form: { grade_data: gradeDataOf(grades) }, signal: options.signal },
    );
  }
}

/** Access Tokens API (`/api/v1/users/:user_id/tokens`). Tokens in answers are secrets. */
export class TokensApi {
  constructor(private readonly client: CanvasTransport) {}

  private path(userId: CanvasId | undefined, tokenId?: CanvasId): string {
    const base = `/api/v1/users/${seg(userId ?? "self", "userId")}/tokens`;
    return tokenId === undefined ? base : `${base}/${seg(tokenId, "tokenId")}`;
  }

  /**
   * Creates a manual token; `visible_token` of the answer is the full token (shown only once).
   * Not replayed after a lost answer (it would create a second token).
   */
  create(options: {
    purpose: string;
    expiresAt?: Date | string;
    scopes?: readonly string[];
    userId?: CanvasId;
    signal?: AbortSignal;
  }): Promise<AccessToken> {
    return this.client.request<AccessToken>("POST", this.path(options.userId), {
      form: {
        token: { purpose: options.purpose, expires_at: isoDate(options.expiresAt), scopes: options.scopes },
      },
      signal: options.signal,
    });
  }

  /** `GET /api/v1/users/:user_id/tokens/:id` (`id` = token id or 5-character token hint). */
  get(tokenId: CanvasId, options: { userId?: CanvasId; signal?: AbortSignal } = {}): Promise<AccessToken> {
    return this.client.request<AccessToken>("GET", this.path(options.userId, tokenId), {
      signal: options.signal,
    });
  }

  /** Changes purpose, expiry or scopes. */
  update(
    tokenId: CanvasId,
    changes: { purpose?: string; expiresAt?: Date | string; scopes?: readonly string[] },
    options: { userId?: CanvasId; signal?: AbortSignal } = {},
  ): Promise<AccessToken> {
    return this.client.request<AccessToken>("PUT", this.path(options.userId, tokenId), {
      form: {
        token: { purpose: changes.purpose, expires_at: isoDate(changes.expiresAt), scopes: changes.scopes },
      },
      signal: options.signal,
    });
  }

  /**
   * Replaces the token string (`token[regenerate]=1`); the answer's `visible_token` is the new
   * full token and the old one stops working. An expired token needs a new `expiresAt`.
   */
  regenerate(
    tokenId: CanvasId,
    options: { expiresAt?: Date | string; userId?: CanvasId; signal?: AbortSignal } = {},
  ): Promise<AccessToken> {
    return this.client.request<AccessToken>("PUT", this.path(options.userId, tokenId), {
      form: { token: { regenerate: 1, expires_at: isoDate(options.expiresAt) } },
      signal: options.signal,
    });
  }

  /** Deletes the token; Canvas answers the token with `workflow_state: "deleted"`. */
  delete(tokenId: CanvasId, options: { userId?: CanvasId; signal?: AbortSignal } = {}): Promise<AccessToken> {
    return this.client.request<AccessToken>("DELETE", this.path(options.userId, tokenId), {
      signal: options.signal,
    });
  }

  /** Manually generated tokens of a user (`GET /api/v1/users/:user_id/user_generated_tokens`). */
  listUserGenerated(userId: CanvasId = "self", paging?: PaginateOptions): AsyncGenerator<AccessToken> {
    return this.client.paginate<AccessToken>(
      `/api/v1/users/${seg(userId, "userId")}/user_generated_tokens`,
      undefined,
      paging,
    );
  }
}

/** Every typed endpoint group, as `CanvasClient` carries them. */
export interface CanvasEndpoints {
  readonly courses: CoursesApi;
  readonly accounts: AccountsApi;
  readonly users: UsersApi;
  readonly enrollments: EnrollmentsApi;
  readonly assignments: AssignmentsApi;
  readonly submissions: SubmissionsApi;
  readonly analytics: AnalyticsApi;
  readonly progress: ProgressApi;
  readonly grades: GradesApi;
  readonly tokens: TokensApi;
}

/**
 * The endpoint groups over any transport: code that receives a narrowed or wrapped client
 * (an export's client, a test hook) still writes no Canvas path itself.
 * @example
 * const api = canvasEndpoints(client);
 * for await (const e of api.enrollments.forCourse(101, { type: ["StudentEnrollment"] })) { ... }
 */
export function canvasEndpoints(transport: CanvasTransport): CanvasEndpoints {
  return {
    courses: new CoursesApi(transport),
    accounts: new AccountsApi(transport),
    users: new UsersApi(transport),
    enrollments: new EnrollmentsApi(transport),
    assignments: new AssignmentsApi(transport),
    submissions: new SubmissionsApi(transport),
    analytics: new AnalyticsApi(transport),
    progress: new ProgressApi(transport),
    grades: new GradesApi(transport),
    tokens: new TokensApi(transport),
  };
}
