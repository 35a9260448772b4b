import { draw, hash4, Kind, pick } from "../hash.js";
import {
  ASSIGNMENT_GROUPS,
  ASSIGNMENT_KINDS,
  ASSIGNMENT_TOPICS,
  COURSE_SUBJECTS,
  FIRST_NAMES,
  LAST_NAMES,
  NICKNAMES,
  NON_LATIN_NAMES,
  SUFFIXES,
} from "./names.js";

const DAY = 86_400_000;
const HOUR = 3_600_000;

export type WorkflowState = "graded" | "submitted" | "unsubmitted" | "pending_review";
export type EnrollmentType = "StudentEnrollment" | "TaEnrollment" | "TeacherEnrollment";
export type EnrollmentState = "active" | "invited" | "inactive" | "completed";
export type UserKind = "admin" | "teacher" | "ta" | "student";

export interface TermInfo {
  id: number;
  name: string;
  startAt: number | null;
  endAt: number | null;
  sisTermId: string | null;
}

export interface AccountInfo {
  id: number;
  name: string;
  parentAccountId: number | null;
  rootAccountId: number | null;
  sisAccountId: string | null;
}

export interface CourseInfo {
  id: number;
  name: string;
  courseCode: string;
  sisCourseId: string;
  accountId: number;
  termId: number;
  startAt: number;
  endAt: number;
  createdAt: number;
  gradingStandardId: number | null;
  hasAttendance: boolean;
  uuid: string;
}

export interface UserInfo {
  id: number;
  kind: UserKind;
  name: string;
  sortableName: string;
  shortName: string;
  sisUserId: string | null;
  loginId: string;
  email: string;
  createdAt: number;
}

export interface AssignmentInfo {
  id: number;
  courseId: number;
  index: number;
  name: string;
  pointsPossible: number;
  gradingType: "points" | "percent" | "letter_grade";
  submissionTypes: readonly string[];
  dueAt: number | null;
  createdAt: number;
  groupId: number;
  isAttendance: boolean;
}

export interface EnrollmentInfo {
  id: number;
  courseId: number;
  userId: number;
  type: EnrollmentType;
  state: EnrollmentState;
  sectionId: number;
  createdAt: number;
  lastActivityAt: number | null;
  totalActivityTime: number;
  lastAttendedAt: number | null;
  /** Index of the student in the course (0..S-1), or -1 for staff. */
  studentIndex: number;
}

export interface SubmissionRow {
  id: number;
  courseId: number;
  assignmentId: number;
  assignmentIndex: number;
  userId: number;
  studentIndex: number;
  workflowState: WorkflowState;
  score: number | null;
  grade: string | null;
  submittedAt: number | null;
  gradedAt: number | null;
  late: boolean;
  missing: boolean;
  excused: boolean;
  secondsLate: number;
  attempt: number | null;
  submissionType: string | null;
  graderId: number | null;
  dueAt: number | null;
}

/** A grade posted through update_grades, layered over the generated submission. */
export interface GradeOverride {
  score: number | null;
  grade: string | null;
  excused: boolean;
  gradedAt: number;
  graderId: number | null;
}

export interface CourseGrades {
  currentScore: number | null;
  finalScore: number | null;
  currentGrade: string | null;
  finalGrade: string | null;
  currentPoints: number;
}

export interface StudentSummaryRow {
  id: number;
  page_views: number | null;
  max_page_views: number | null;
  page_views_level: number;
  participations: number | null;
  max_participations: number | null;
  participations_level: number;
  tardiness_breakdown: { total: number; on_time: number; late: number; missing: number; floating: number };
}

/** Canvas's default grading scheme (letter, lower bound as a fraction). */
export const DEFAULT_GRADING_SCHEME: ReadonlyArray<readonly [string, number]> = [
  ["A", 0.94],
  ["A-", 0.9],
  ["B+", 0.87],
  ["B", 0.84],
  ["B-", 0.8],
  ["C+", 0.77],
  ["C", 0.74],
  ["C-", 0.7],
  ["D+", 0.67],
  ["D", 0.64],
  ["D-", 0.61],
  ["F", 0],
];

/** The letter for a percentage (0..100+), by the default scheme. */
export function letterFor(percent: number): string {
  const fraction = Math.round(percent * 100) / 10000;
  for (const [letter, floor] of DEFAULT_GRADING_SCHEME) if (fraction >= floor) return letter;
  return "F";
}

function round2(value: number): number {
  return Math.round(value * 100) / 100;
}

const TERMS: readonly TermInfo[] = [
  { id: 1, name: "Default Term", startAt: null, endAt: null, sisTermId: null },
  {
    id: 2,
    name: "Spring 2026",
    startAt: Date.UTC(2026, 0, 12),
    endAt: Date.UTC(2026, 4, 8),
    sisTermId: "2026SP",
  },
  {
    id: 3,
    name: "Fall 2026",
    startAt: Date.UTC(2026, 7, 24),
    endAt: Date.UTC(2026, 11, 18),
    sisTermId: "2026FA",
  },
];

const ACCOUNTS: readonly AccountInfo[] = [
  { id: 1, name: "Easel University", parentAccountId: null, rootAccountId: null, sisAccountId: null },
  { id: 2, name: "College of Arts & Sciences", parentAccountId: 1, rootAccountId: 1, sisAccountId: "CAS" },
  { id: 3, name: "School of Engineering", parentAccountId: 1, rootAccountId: 1, sisAccountId: "ENG" },
];

const ENROLLMENT_TYPE_ORDER: readonly EnrollmentType[] = [
  "StudentEnrollment",
  "TaEnrollment",
  "TeacherEnrollment",
];

export const ROLE_IDS: Readonly<Record<EnrollmentType, number>> = {
  StudentEnrollment: 3,
  TeacherEnrollment: 4,
  TaEnrollment: 5,
};

const STATE_CODES: readonly EnrollmentState[] = ["active", "invited", "inactive", "completed"];

export interface ModelConfig {
  seed: number;
  courses: number;
  studentsPerCourse: number;
  assignmentsPerCourse: number;
  teachersPerCourse: number;
  tasPerCourse: number;
  /** The clock's start: data are generated relative to it and never move. */
  now: number;
}

interface CourseCache {
  assignments: AssignmentInfo[];
  studentStates?: Uint8Array;
  studentNameOrder?: Int32Array;
  staffNameOrder?: Int32Array;
  analytics?: AnalyticsCache;
  summaryOrders?: Map<string, { version: number; order: Int32Array }>;
  aggregates?: StudentAggregates;
}

/** Per-student sums over every assignment, filled lazily and dropped when a grade changes. */
interface StudentAggregates {
  version: number;
  filled: Uint8Array;
  /** earned, gradedPossible, allPossible per student. */
  points: Float64Array;
  /** on_time, late, missing, floating per student. */
  tardiness: Int32Array;
}

interface AnalyticsCache {
  pageViews: Int32Array;
  participations: Int32Array;
  maxPageViews: number | null;
  maxParticipations: number | null;
  pageViewQuartiles: [number, number];
  participationQuartiles: [number, number];
}

/**
 * The simulated Canvas instance's data. Ids are laid out arithmetically so every lookup is O(1):
 * user 1 is the admin ("functional user"); then each course's teachers and TAs; then a pool of
 * students, where course c holds the contiguous range starting at (c-1)·stride, so consecutive
 * courses share ~10% of their students. Submission ids are ordered (course, assignment, student).
 */
export class SimModel {
  readonly config: ModelConfig;
  readonly adminUserId = 1;
  readonly staffPerCourse: number;
  readonly stride: number;
  readonly staffBase = 2;
  readonly studentBase: number;
  readonly studentPoolSize: number;
  readonly enrollmentsPerCourse: number;
  readonly #courseCache = new Map<number, CourseCache>();
  readonly #overrides = new Map<number, GradeOverride>();
  readonly #lastAttended = new Map<string, number>();
  #allAssignmentIndexes: Int32Array | undefined;
  /** Bumped whenever a grade changes, to invalidate score-derived caches. */
  gradeVersion = 0;

  constructor(config: ModelConfig) {
    this.config = config;
    const { courses, studentsPerCourse, teachersPerCourse, tasPerCourse } = config;
    this.staffPerCourse = teachersPerCourse + tasPerCourse;
    const overlap = courses > 1 ? Math.floor(studentsPerCourse / 10) : 0;
    this.stride = studentsPerCourse - overlap;
    this.studentBase = this.staffBase + courses * this.staffPerCourse;
    this.studentPoolSize = (courses - 1) * this.stride + studentsPerCourse;
    this.enrollmentsPerCourse = this.staffPerCourse + studentsPerCourse;
  }

  get courseCount(): number {
    return this.config.courses;
  }
  get studentsPerCourse(): number {
    return this.config.studentsPerCourse;
  }
  get assignmentsPerCourse(): number {
    return this.config.assignmentsPerCourse;
  }
  get userCount(): number {
    return this.studentBase + this.studentPoolSize - 1;
  }

  // ---- accounts, terms, courses -------------------------------------------------------------

  terms(): readonly TermInfo[] {
    return TERMS;
  }
  term(id: number): TermInfo | undefined {
    return TERMS.find((term) => term.id === id);
  }
  accounts(): readonly AccountInfo[] {
    return ACCOUNTS;
  }
  account(id: number): AccountInfo | undefined {
    return ACCOUNTS.find((account) => account.id === id);
  }
  /** The account and every sub-account under it. */
  accountTree(id: number): number[] {
    const ids = [id];
    for (const account of ACCOUNTS)
      if (account.parentAccountId === id) ids.push(...this.accountTree(account.id));
    return ids;
  }

  hasCourse(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.config.courses;
  }

  course(id: number): CourseInfo | undefined {
    if (!this.hasCourse(id)) return undefined;
    const h = hash4(this.config.seed, Kind.course, id);
    const [code, title] = pick(COURSE_SUBJECTS, draw(h, 0));
    const number = 100 + Math.floor(draw(h, 1) * 400);
    const termId = id % 7 === 0 ? 1 : id % 3 === 0 ? 2 : 3;
    const term = TERMS[termId - 1]!;
    const startAt = term.startAt ?? this.config.now - 60 * DAY;
    const endAt = term.endAt ?? this.config.now + 60 * DAY;
    const uuid = [0, 1, 2, 3].map((n) =>
      hash4(this.config.seed, Kind.course, id, n + 10)
        .toString(16)
        .padStart(8, "0"),
    );
    return {
      id,
      name: `${title} (Section ${String(id).padStart(2, "0")})`,
      courseCode: `${code} ${number}`,
      sisCourseId: `${term.sisTermId ?? "DEF"}-${code}${number}-${id}`,
      accountId: id % 2 === 1 ? 2 : 3,
      termId,
      startAt,
      endAt,
      createdAt: startAt - 30 * DAY,
      gradingStandardId: id % 2 === 0 ? 1 : null,
      hasAttendance: id % 2 === 1,
      uuid: uuid.join("").slice(0, 40),
    };
  }

  courseIds(): number[] {
    return Array.from({ length: this.config.courses }, (_, i) => i + 1);
  }

  #cache(courseId: number): CourseCache {
    let cache = this.#courseCache.get(courseId);
    if (!cache) {
      cache = { assignments: this.#buildAssignments(courseId) };
      this.#courseCache.set(courseId, cache);
    }
    return cache;
  }

  // ---- users --------------------------------------------------------------------------------

  /** What a user id is, without building the user. */
  userKind(id: number): UserKind | undefined {
    if (!Number.isInteger(id) || id < 1) return undefined;
    if (id === this.adminUserId) return "admin";
    if (id < this.studentBase) {
      return (id - this.staffBase) % this.staffPerCourse < this.config.teachersPerCourse ? "teacher" : "ta";
    }
    if (id < this.studentBase + this.studentPoolSize) return "student";
    return undefined;
  }

  user(id: number): UserInfo | undefined {
    const kind = this.userKind(id);
    if (!kind) return undefined;
    const createdAt = this.config.now - 400 * DAY + (id % 1000) * 3600_000;
    if (kind === "admin") {
      return {
        id,
        kind,
        name: "Easel Functional User",
        sortableName: "User, Easel Functional",
        shortName: "Easel Functional User",
        sisUserId: null,
        loginId: "admin@example.edu",
        email: "admin@example.edu",
        createdAt,
      };
    }
    const h = hash4(this.config.seed, Kind.userName, id);
    let first: string;
    let last: string;
    let name: string;
    let sortableName: string;
    let shortName: string;
    const style = draw(h, 0);
    if (style < 0.05) {
      [first, last] = pick(NON_LATIN_NAMES, draw(h, 1));
      name = `${first} ${last}`;
      sortableName = `${last}, ${first}`;
      shortName = first;
    } else {
      first = pick(FIRST_NAMES, draw(h, 1));
      last = pick(LAST_NAMES, draw(h, 2));
      if (style < 0.08) {
        const nick = pick(NICKNAMES, draw(h, 3));
        name = `${first} "${nick}" ${last}`;
        sortableName = `${last}, ${first} "${nick}"`;
        shortName = nick;
      } else if (style < 0.1) {
        const suffix = pick(SUFFIXES, draw(h, 3));
        name = `${first} ${last}, ${suffix}`;
        sortableName = `${last}, ${first}, ${suffix}`;
        shortName = `${first} ${last}`;
      } else {
        name = `${first} ${last}`;
        sortableName = `${last}, ${first}`;
        shortName = name;
      }
    }
    const prefix = kind === "student" ? "s" : "t";
    return {
      id,
      kind,
      name,
      sortableName,
      shortName,
      sisUserId: `${kind === "student" ? "S" : "F"}${String(id).padStart(7, "0")}`,
      loginId: `${prefix}${id}@example.edu`,
      email: `${prefix}${id}@example.edu`,
      createdAt,
    };
  }

  /** Finds a user by login id (unique_id), SIS id (`sis_user_id:X`) or numeric id. */
  findUser(reference: string): UserInfo | undefined {
    const trimmed = reference.trim();
    if (trimmed === "self") return undefined;
    if (/^\d+$/.test(trimmed)) return this.user(Number(trimmed));
    if (trimmed.startsWith("sis_user_id:")) return this.userBySis(trimmed.slice("sis_user_id:".length));
    const lower = trimmed.toLowerCase();
    if (lower === "admin@example.edu" || lower === "admin") return this.user(this.adminUserId);
    const match = /^[st](\d+)@example\.edu$/.exec(lower);
    if (match) {
      const user = this.user(Number(match[1]));
      if (user && user.loginId === lower) return user;
    }
    return undefined;
  }

  userBySis(sisId: string): UserInfo | undefined {
    const match = /^[SF](\d{7,})$/.exec(sisId);
    if (!match) return undefined;
    const user = this.user(Number(match[1]));
    return user && user.sisUserId === sisId ? user : undefined;
  }

  // ---- enrollments --------------------------------------------------------------------------

  /** Courses a student id belongs to (at most two: neighbouring courses share students). */
  studentCourses(userId: number): number[] {
    const p = userId - this.studentBase;
    if (p < 0 || p >= this.studentPoolSize) return [];
    const result: number[] = [];
    const upper = Math.min(this.config.courses, Math.floor(p / this.stride) + 1);
    for (let c = Math.max(1, upper - 1); c <= upper; c++) {
      const start = (c - 1) * this.stride;
      if (p >= start && p < start + this.config.studentsPerCourse) result.push(c);
    }
    return result;
  }

  /** Course ids where the user has any enrollment (staff: their one course). */
  userCourseIds(userId: number): number[] {
    const kind = this.userKind(userId);
    if (kind === "student") return this.studentCourses(userId);
    if (kind === "teacher" || kind === "ta")
      return [Math.floor((userId - this.staffBase) / this.staffPerCourse) + 1];
    return [];
  }

  studentId(courseId: number, index: number): number {
    return this.studentBase + (courseId - 1) * this.stride + index;
  }

  /** Index of a user among a course's students, or -1. */
  studentIndex(courseId: number, userId: number): number {
    if (!this.hasCourse(courseId) || !Number.isInteger(userId)) return -1;
    const index = userId - this.studentBase - (courseId - 1) * this.stride;
    return index >= 0 && index < this.config.studentsPerCourse ? index : -1;
  }

  staffId(courseId: number, index: number): number {
    return this.staffBase + (courseId - 1) * this.staffPerCourse + index;
  }

  /** Index of a user among a course's teachers+TAs, or -1. */
  staffIndex(courseId: number, userId: number): number {
    if (!this.hasCourse(courseId) || !Number.isInteger(userId)) return -1;
    const index = userId - this.staffBase - (courseId - 1) * this.staffPerCourse;
    return index >= 0 && index < this.staffPerCourse ? index : -1;
  }

  studentState(courseId: number, index: number): EnrollmentState {
    return STATE_CODES[this.#studentStates(courseId)[index]!]!;
  }

  #studentStates(courseId: number): Uint8Array {
    const cache = this.#cache(courseId);
    if (!cache.studentStates) {
      const states = new Uint8Array(this.config.studentsPerCourse);
      for (let k = 0; k < states.length; k++) {
        const unit = draw(hash4(this.config.seed, Kind.enrollmentState, courseId, k), 0);
        states[k] = unit < 0.93 ? 0 : unit < 0.95 ? 1 : unit < 0.97 ? 2 : 3;
      }
      cache.studentStates = states;
    }
    return cache.studentStates;
  }

  /** Student indexes ordered by sortable name then id (Canvas: `order(:type, sortable_name, :id)`). */
  studentNameOrder(courseId: number): Int32Array {
    const cache = this.#cache(courseId);
    if (!cache.studentNameOrder) {
      const count = this.config.studentsPerCourse;
      const keys = new Array<string>(count);
      for (let k = 0; k < count; k++) keys[k] = this.user(this.studentId(courseId, k))!.sortableName;
      const order = Int32Array.from({ length: count }, (_, k) => k);
      const collator = new Intl.Collator("en", { sensitivity: "base" });
      order.sort((a, b) => collator.compare(keys[a]!, keys[b]!) || a - b);
      cache.studentNameOrder = order;
    }
    return cache.studentNameOrder;
  }

  #staffNameOrder(courseId: number): Int32Array {
    const cache = this.#cache(courseId);
    if (!cache.staffNameOrder) {
      const count = this.staffPerCourse;
      const collator = new Intl.Collator("en", { sensitivity: "base" });
      const keys = Array.from(
        { length: count },
        (_, j) => this.user(this.staffId(courseId, j))!.sortableName,
      );
      const order = Int32Array.from({ length: count }, (_, j) => j);
      order.sort((a, b) => collator.compare(keys[a]!, keys[b]!) || a - b);
      cache.staffNameOrder = order;
    }
    return cache.staffNameOrder;
  }

  enrollmentId(courseId: number, slot: number): number {
    return (courseId - 1) * this.enrollmentsPerCourse + slot + 1;
  }

  studentEnrollment(courseId: number, index: number): EnrollmentInfo {
    const userId = this.studentId(courseId, index);
    return this.#enrollment(
      courseId,
      this.staffPerCourse + index,
      userId,
      "StudentEnrollment",
      this.studentState(courseId, index),
      index,
    );
  }

  staffEnrollment(courseId: number, index: number): EnrollmentInfo {
    const type: EnrollmentType = index < this.config.teachersPerCourse ? "TeacherEnrollment" : "TaEnrollment";
    return this.#enrollment(courseId, index, this.staffId(courseId, index), type, "active", -1);
  }

  #enrollment(
    courseId: number,
    slot: number,
    userId: number,
    type: EnrollmentType,
    state: EnrollmentState,
    studentIndex: number,
  ): EnrollmentInfo {
    const h = hash4(this.config.seed, Kind.activity, courseId, userId);
    const course = this.course(courseId)!;
    const inactive = draw(h, 0) < 0.04 || state === "invited";
    return {
      id: this.enrollmentId(courseId, slot),
      courseId,
      userId,
      type,
      state,
      sectionId: courseId,
      createdAt: course.createdAt + Math.floor(draw(h, 1) * 20 * DAY),
      lastActivityAt: inactive ? null : Math.floor((this.config.now - draw(h, 2) * 14 * DAY) / 1000) * 1000,
      totalActivityTime: inactive ? 0 : Math.floor(draw(h, 3) * 360_000),
      lastAttendedAt: this.#lastAttended.get(`${courseId}:${userId}`) ?? null,
      studentIndex,
    };
  }

  /** The enrollment of a user in a course, or undefined. */
  enrollmentFor(courseId: number, userId: number): EnrollmentInfo | undefined {
    const k = this.studentIndex(courseId, userId);
    if (k !== -1) return this.studentEnrollment(courseId, k);
    const j = this.staffIndex(courseId, userId);
    if (j !== -1) return this.staffEnrollment(courseId, j);
    return undefined;
  }

  /**
   * Enrollment slots in Canvas's order (type, sortable name, id), filtered. A slot < staffPerCourse is
   * a staff index; otherwise slot - staffPerCourse is a student index. O(S) per call, no per-row objects.
   */
  enrollmentSlots(
    courseId: number,
    types: ReadonlySet<EnrollmentType> | null,
    states: ReadonlySet<EnrollmentState>,
    userId: number | null,
  ): Int32Array {
    const staff = this.staffPerCourse;
    if (userId !== null) {
      const k = this.studentIndex(courseId, userId);
      const j = this.staffIndex(courseId, userId);
      const slots: number[] = [];
      if (
        k !== -1 &&
        (!types || types.has("StudentEnrollment")) &&
        states.has(this.studentState(courseId, k))
      ) {
        slots.push(staff + k);
      }
      if (j !== -1) {
        const type = this.staffEnrollment(courseId, j).type;
        if ((!types || types.has(type)) && states.has("active")) slots.push(j);
      }
      return Int32Array.from(slots);
    }
    const result: number[] = [];
    for (const type of ENROLLMENT_TYPE_ORDER) {
      if (types && !types.has(type)) continue;
      if (type === "StudentEnrollment") {
        const stateCodes = this.#studentStates(courseId);
        const order = this.studentNameOrder(courseId);
        for (let i = 0; i < order.length; i++) {
          const k = order[i]!;
          if (states.has(STATE_CODES[stateCodes[k]!]!)) result.push(staff + k);
        }
      } else if (states.has("active")) {
        const order = this.#staffNameOrder(courseId);
        for (let i = 0; i < order.length; i++) {
          const j = order[i]!;
          const isTeacher = j < this.config.teachersPerCourse;
          if ((type === "TeacherEnrollment") === isTeacher) result.push(j);
        }
      }
    }
    return Int32Array.from(result);
  }

  enrollmentAtSlot(courseId: number, slot: number): EnrollmentInfo {
    return slot < this.staffPerCourse
      ? this.staffEnrollment(courseId, slot)
      : this.studentEnrollment(courseId, slot - this.staffPerCourse);
  }

  setLastAttended(courseId: number, userId: number, at: number): void {
    this.#lastAttended.set(`${courseId}:${userId}`, at);
  }

  // ---- assignments --------------------------------------------------------------------------

  assignments(courseId: number): readonly AssignmentInfo[] {
    return this.hasCourse(courseId) ? this.#cache(courseId).assignments : [];
  }

  /** 0..A-1 as a shared, read-only Int32Array (every request for "all assignments" reuses it). */
  allAssignmentIndexes(): Int32Array {
    this.#allAssignmentIndexes ??= Int32Array.from({ length: this.config.assignmentsPerCourse }, (_, i) => i);
    return this.#allAssignmentIndexes;
  }

  assignmentId(courseId: number, index: number): number {
    return (courseId - 1) * this.config.assignmentsPerCourse + index + 1;
  }

  /** Index of an assignment id within its course, or -1. */
  assignmentIndex(courseId: number, assignmentId: number): number {
    if (!this.hasCourse(courseId) || !Number.isInteger(assignmentId)) return -1;
    const index = assignmentId - 1 - (courseId - 1) * this.config.assignmentsPerCourse;
    return index >= 0 && index < this.config.assignmentsPerCourse ? index : -1;
  }

  #buildAssignments(courseId: number): AssignmentInfo[] {
    const course = this.course(courseId)!;
    const count = this.config.assignmentsPerCourse;
    const span = course.endAt - course.startAt;
    const result: AssignmentInfo[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.assignmentId(courseId, i);
      const groupBase = (courseId - 1) * ASSIGNMENT_GROUPS.length + 1;
      if (course.hasAttendance && i === count - 1) {
        result.push({
          id,
          courseId,
          index: i,
          name: "Roll Call Attendance",
          pointsPossible: 100,
          gradingType: "percent",
          submissionTypes: ["external_tool"],
          dueAt: null,
          createdAt: course.startAt - 7 * DAY,
          groupId: groupBase + 3,
          isAttendance: true,
        });
        continue;
      }
      const h = hash4(this.config.seed, Kind.assignment, courseId, i);
      const kind = pick(ASSIGNMENT_KINDS, draw(h, 0));
      const topic = pick(ASSIGNMENT_TOPICS, draw(h, 1));
      const dayOffset = Math.floor(((i + 1) * span) / (count + 1) / DAY);
      result.push({
        id,
        courseId,
        index: i,
        name: `${kind.label} ${i + 1}: ${topic}`,
        pointsPossible: pick(kind.points, draw(h, 2)),
        gradingType: kind.gradingType,
        submissionTypes: kind.submissionTypes,
        dueAt: course.startAt + dayOffset * DAY + 23 * HOUR + 59 * 60_000,
        createdAt: course.startAt - 7 * DAY,
        groupId: groupBase + kind.group,
        isAttendance: false,
      });
    }
    return result;
  }

  // ---- submissions ---------------------------------------------------------------------------

  /** Submission id: ordered by (course, assignment, student), contiguous per course. */
  submissionId(courseId: number, assignmentIndex: number, studentIndex: number): number {
    const { assignmentsPerCourse: a, studentsPerCourse: s } = this.config;
    return (courseId - 1) * a * s + assignmentIndex * s + studentIndex + 1;
  }

  /** The (assignment index, student index) of a submission id within a course, or null. */
  submissionPosition(courseId: number, id: number): [number, number] | null {
    const { assignmentsPerCourse: a, studentsPerCourse: s } = this.config;
    const local = id - 1 - (courseId - 1) * a * s;
    if (!Number.isInteger(local) || local < 0 || local >= a * s) return null;
    return [Math.floor(local / s), local % s];
  }

  /** Generates one submission (plus any posted grade) in O(1). */
  submission(courseId: number, assignmentIndex: number, studentIndex: number): SubmissionRow {
    const assignment = this.#cache(courseId).assignments[assignmentIndex]!;
    const id = this.submissionId(courseId, assignmentIndex, studentIndex);
    const userId = this.studentId(courseId, studentIndex);
    const now = this.config.now;
    const h = hash4(this.config.seed, Kind.submission, courseId, assignmentIndex, studentIndex);
    const ability = this.#ability(courseId, studentIndex);
    const points = assignment.pointsPossible;
    const grader = this.staffId(courseId, 0);
    const row: SubmissionRow = {
      id,
      courseId,
      assignmentId: assignment.id,
      assignmentIndex,
      userId,
      studentIndex,
      workflowState: "unsubmitted",
      score: null,
      grade: null,
      submittedAt: null,
      gradedAt: null,
      late: false,
      missing: false,
      excused: false,
      secondsLate: 0,
      attempt: null,
      submissionType: null,
      graderId: null,
      dueAt: assignment.dueAt,
    };
    const fraction = Math.min(1, Math.max(0, ability + (draw(h, 3) - 0.5) * 0.3));
    if (assignment.isAttendance) {
      const gradedAt = Math.floor((now - draw(h, 4) * 2 * DAY) / 1000) * 1000;
      row.workflowState = "graded";
      row.score = Math.round(Math.min(1, ability + (draw(h, 3) - 0.3) * 0.25) * 100);
      row.submittedAt = gradedAt;
      row.gradedAt = gradedAt;
      row.attempt = 1;
      row.submissionType = "basic_lti_launch";
      row.graderId = grader;
    } else {
      const due = assignment.dueAt!;
      const unit = draw(h, 0);
      let submittedAt: number | null = null;
      let graded = false;
      if (due <= now) {
        if (unit < 0.07) row.missing = true;
        else if (unit < 0.085) {
          row.excused = true;
          row.workflowState = "graded";
          row.gradedAt = Math.min(due + Math.floor(draw(h, 5) * 3 * DAY), now - HOUR);
          row.graderId = grader;
        } else {
          const late = draw(h, 2) < 0.12;
          submittedAt = late
            ? due + Math.floor(draw(h, 4) * 2 * DAY)
            : due - Math.floor(draw(h, 4) * 3 * DAY);
          if (submittedAt >= now) {
            submittedAt = null;
            row.missing = true;
          } else {
            graded = unit >= 0.165;
            row.workflowState = unit < 0.15 ? "submitted" : unit < 0.165 ? "pending_review" : "graded";
          }
        }
      } else if (unit < 0.15) {
        submittedAt = Math.max(assignment.createdAt, now - Math.floor(draw(h, 4) * 2 * DAY));
        graded = draw(h, 6) < 0.5;
        row.workflowState = graded ? "graded" : "submitted";
      }
      if (submittedAt !== null) {
        submittedAt = Math.floor(submittedAt / 1000) * 1000;
        row.submittedAt = submittedAt;
        row.attempt = draw(h, 7) < 0.2 ? 2 : 1;
        row.submissionType = assignment.submissionTypes[0] ?? null;
        if (submittedAt > due) {
          row.late = true;
          row.secondsLate = Math.floor((submittedAt - due) / 1000);
        }
        if (graded) {
          row.score = Math.round(fraction * points * 2) / 2;
          row.gradedAt = Math.max(
            submittedAt + 60_000,
            Math.min(submittedAt + Math.floor((0.5 + draw(h, 5) * 4) * DAY), now - HOUR),
          );
          row.gradedAt = Math.floor(row.gradedAt / 1000) * 1000;
          row.graderId = grader;
        }
      }
    }
    if (row.score !== null) row.grade = this.formatGrade(assignment, row.score);
    if (this.#overrides.size > 0) {
      const override = this.#overrides.get(id);
      if (override) this.#applyOverride(row, override);
    }
    return row;
  }

  #applyOverride(row: SubmissionRow, override: GradeOverride): void {
    row.score = override.score;
    row.grade = override.grade;
    row.excused = override.excused;
    row.gradedAt = override.gradedAt;
    row.graderId = override.graderId;
    if (override.excused || override.score !== null) {
      row.workflowState = "graded";
      row.missing = false;
    } else {
      row.workflowState = row.submittedAt === null ? "unsubmitted" : "submitted";
      row.gradedAt = null;
    }
  }

  #ability(courseId: number, studentIndex: number): number {
    const h = hash4(this.config.seed, Kind.studentAbility, courseId, studentIndex);
    return 0.55 + 0.45 * ((draw(h, 0) + draw(h, 1) + draw(h, 2)) / 3);
  }

  /** The grade string Canvas shows for a score on an assignment. */
  formatGrade(assignment: AssignmentInfo, score: number): string {
    if (assignment.gradingType === "points") return String(score);
    const percent = assignment.pointsPossible > 0 ? round2((score / assignment.pointsPossible) * 100) : 0;
    if (assignment.gradingType === "percent") return `${percent}%`;
    return letterFor(percent);
  }

  /**
   * Parses a `posted_grade` as Canvas does for the common forms: points ("17", "8.5"), a percentage
   * ("85%"), a letter of the default scheme, "pass"/"complete"/"fail"/"incomplete", or "" to clear.
   * Returns undefined when unparseable.
   */
  parsePostedGrade(assignment: AssignmentInfo, posted: string): { score: number | null } | undefined {
    const value = posted.trim();
    if (value === "") return { score: null };
    const points = assignment.pointsPossible;
    if (/^-?\d+(\.\d+)?$/.test(value)) return { score: Number(value) };
    const percent = /^(-?\d+(\.\d+)?)%$/.exec(value);
    if (percent) return { score: round2((Number(percent[1]) * points) / 100) };
    const lower = value.toLowerCase();
    if (lower === "pass" || lower === "complete") return { score: points };
    if (lower === "fail" || lower === "incomplete") return { score: 0 };
    const index = DEFAULT_GRADING_SCHEME.findIndex(([letter]) => letter.toLowerCase() === lower);
    if (index !== -1) {
      // Canvas scores a letter at the top of its band.
      const top = index === 0 ? 1 : DEFAULT_GRADING_SCHEME[index - 1]![1] - 0.0001;
      return { score: round2(top * points) };
    }
    return undefined;
  }

  /** Records a grade (update_grades). `score` null with excused false clears the grade. */
  postGrade(
    courseId: number,
    assignmentIndex: number,
    studentIndex: number,
    change: { score: number | null; excused: boolean },
    at: number,
    graderId: number | null,
  ): void {
    const assignment = this.#cache(courseId).assignments[assignmentIndex]!;
    const id = this.submissionId(courseId, assignmentIndex, studentIndex);
    this.#overrides.set(id, {
      score: change.excused ? null : change.score,
      grade: change.excused || change.score === null ? null : this.formatGrade(assignment, change.score),
      excused: change.excused,
      gradedAt: Math.floor(at / 1000) * 1000,
      graderId,
    });
    this.gradeVersion++;
  }

  /** Sums over a student's submissions (O(A) once, then O(1) until a grade changes). */
  #aggregates(courseId: number, studentIndex: number): StudentAggregates {
    const cache = this.#cache(courseId);
    const count = this.config.studentsPerCourse;
    if (!cache.aggregates || cache.aggregates.version !== this.gradeVersion) {
      cache.aggregates = {
        version: this.gradeVersion,
        filled: new Uint8Array(count),
        points: new Float64Array(count * 3),
        tardiness: new Int32Array(count * 4),
      };
    }
    const aggregates = cache.aggregates;
    if (aggregates.filled[studentIndex] === 0) {
      const assignments = cache.assignments;
      let earned = 0;
      let gradedPossible = 0;
      let allPossible = 0;
      let onTime = 0;
      let late = 0;
      let missing = 0;
      let floating = 0;
      for (let i = 0; i < assignments.length; i++) {
        const row = this.submission(courseId, i, studentIndex);
        if (row.submittedAt !== null) {
          if (row.late) late++;
          else onTime++;
        } else if (row.missing) missing++;
        else floating++;
        if (row.excused) continue;
        const possible = assignments[i]!.pointsPossible;
        allPossible += possible;
        if (row.score !== null && row.workflowState === "graded") {
          earned += row.score;
          gradedPossible += possible;
        }
      }
      aggregates.points.set([earned, gradedPossible, allPossible], studentIndex * 3);
      aggregates.tardiness.set([onTime, late, missing, floating], studentIndex * 4);
      aggregates.filled[studentIndex] = 1;
    }
    return aggregates;
  }

  /** Course grades of one student, computed from every submission (Canvas recomputes on change). */
  grades(courseId: number, studentIndex: number, gradingStandard: boolean): CourseGrades {
    const { points } = this.#aggregates(courseId, studentIndex);
    const earned = points[studentIndex * 3]!;
    const gradedPossible = points[studentIndex * 3 + 1]!;
    const allPossible = points[studentIndex * 3 + 2]!;
    const currentScore = gradedPossible > 0 ? round2((earned / gradedPossible) * 100) : null;
    const finalScore = allPossible > 0 ? round2((earned / allPossible) * 100) : null;
    return {
      currentScore,
      finalScore,
      currentGrade: gradingStandard && currentScore !== null ? letterFor(currentScore) : null,
      finalGrade: gradingStandard && finalScore !== null ? letterFor(finalScore) : null,
      currentPoints: round2(earned),
    };
  }

  // ---- analytics ------------------------------------------------------------------------------

  #analytics(courseId: number): AnalyticsCache {
    const cache = this.#cache(courseId);
    if (!cache.analytics) {
      const count = this.config.studentsPerCourse;
      const pageViews = new Int32Array(count);
      const participations = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        const h = hash4(this.config.seed, Kind.pageViews, courseId, k);
        if (draw(h, 0) < 0.03) {
          pageViews[k] = -1;
          participations[k] = -1;
        } else {
          const engagement = draw(h, 1);
          pageViews[k] = Math.floor(5 + engagement * engagement * 600 + draw(h, 2) * 40);
          participations[k] = Math.floor(engagement * 40 * draw(h, 3));
        }
      }
      cache.analytics = {
        pageViews,
        participations,
        maxPageViews: maxOrNull(pageViews),
        maxParticipations: maxOrNull(participations),
        pageViewQuartiles: quartiles(pageViews),
        participationQuartiles: quartiles(participations),
      };
    }
    return cache.analytics;
  }

  /** One row of `analytics/student_summaries` (instructure/analytics lib/analytics/student_summary.rb). */
  studentSummary(courseId: number, studentIndex: number): StudentSummaryRow {
    const analytics = this.#analytics(courseId);
    const views = analytics.pageViews[studentIndex]!;
    const parts = analytics.participations[studentIndex]!;
    const { tardiness } = this.#aggregates(courseId, studentIndex);
    const base = studentIndex * 4;
    const breakdown = {
      total: this.config.assignmentsPerCourse,
      on_time: tardiness[base]!,
      late: tardiness[base + 1]!,
      missing: tardiness[base + 2]!,
      floating: tardiness[base + 3]!,
    };
    return {
      id: this.studentId(courseId, studentIndex),
      page_views: views < 0 ? null : views,
      max_page_views: analytics.maxPageViews,
      page_views_level: level(views, analytics.pageViewQuartiles),
      participations: parts < 0 ? null : parts,
      max_participations: analytics.maxParticipations,
      participations_level: level(parts, analytics.participationQuartiles),
      tardiness_breakdown: breakdown,
    };
  }

  /** Student indexes in the order of a `sort_column`. */
  summaryOrder(courseId: number, sortColumn: string): Int32Array {
    const descending = sortColumn.endsWith("_descending");
    const column = descending ? sortColumn.slice(0, -"_descending".length) : sortColumn;
    const byName = this.studentNameOrder(courseId);
    if (column === "name") return descending ? byName.slice().reverse() : byName;
    const cache = this.#cache(courseId);
    cache.summaryOrders ??= new Map();
    const cached = cache.summaryOrders.get(sortColumn);
    if (cached && cached.version === this.gradeVersion) return cached.order;
    const count = this.config.studentsPerCourse;
    const values = new Float64Array(count);
    const analytics = this.#analytics(courseId);
    for (let k = 0; k < count; k++) {
      if (column === "score") values[k] = this.grades(courseId, k, false).currentScore ?? -1;
      else if (column === "participations") values[k] = analytics.participations[k]!;
      else values[k] = analytics.pageViews[k]!;
    }
    // Ties keep name order, as Canvas's sort_by is stable over the name-ordered list.
    const rank = new Int32Array(count);
    for (let i = 0; i < count; i++) rank[byName[i]!] = i;
    const order = Int32Array.from(byName);
    order.sort((a, b) => {
      const diff = descending ? values[b]! - values[a]! : values[a]! - values[b]!;
      return diff || rank[a]! - rank[b]!;
    });
    cache.summaryOrders.set(sortColumn, { version: this.gradeVersion, order });
    return order;
  }
}

function maxOrNull(values: Int32Array): number | null {
  let max = -1;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max < 0 ? null : max;
}

function quartiles(values: Int32Array): [number, number] {
  const present = Array.from(values).filter((value) => value >= 0);
  if (present.length === 0) return [0, 0];
  present.sort((a, b) => a - b);
  const at = (q: number) => present[Math.min(present.length - 1, Math.floor(q * present.length))]!;
  return [at(0.25), at(0.75)];
}

/** 0 = no activity, 1 below the first quartile, 2 below the third, 3 at or above it. */
function level(value: number, [q1, q3]: [number, number]): number {
  if (value <= 0) return 0;
  if (value < q1) return 1;
  if (value < q3) return 2;
  return 3;
}
