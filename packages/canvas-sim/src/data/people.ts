/**
 * People: users and their enrollments. Ids are laid out arithmetically so every lookup is O(1): user 1
 * is the admin ("functional user"); then each course's teachers and TAs; then a pool of students, where
 * course c holds the contiguous range starting at (c-1)·stride, so consecutive courses share ~10% of
 * their students. Users and enrollments are generated on every call; per-course states and name orders
 * are generated once, on first use.
 *
 * Changes made to enrollments live in this module's overlays, layered over the generated enrollment when
 * it is built: `last_attended_at` (the API; generated for most students of courses that take
 * attendance) and a student's enrollment state (a day of activity drops a student, `deleted`, or
 * enrolls one, `active`).
 */
import { draw, hash4, Kind, pick } from "../hash.js";
import type { Catalog, CourseInfo } from "./catalog.js";
import { DAY, floorToSecond, HOUR, type ModelConfig, PerCourse } from "./config.js";
import { FIRST_NAMES, LAST_NAMES, NICKNAMES, NON_LATIN_NAMES, SUFFIXES } from "./names.js";

export type EnrollmentType = "StudentEnrollment" | "TaEnrollment" | "TeacherEnrollment";
/** `deleted` exists only through the state overlay (a dropped student): Canvas lists it on request only. */
export type EnrollmentState = "active" | "invited" | "inactive" | "completed" | "deleted";
export type UserKind = "admin" | "teacher" | "ta" | "student";

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

export const ROLE_IDS: Readonly<Record<EnrollmentType, number>> = {
  StudentEnrollment: 3,
  TeacherEnrollment: 4,
  TaEnrollment: 5,
};

/** Every enrollment type, in the order Canvas lists enrollments. */
export const ENROLLMENT_TYPES: readonly EnrollmentType[] = [
  "StudentEnrollment",
  "TaEnrollment",
  "TeacherEnrollment",
];

/** Every enrollment state; a student's state is stored as its index here. */
export const ENROLLMENT_STATES: readonly EnrollmentState[] = ["active", "invited", "inactive", "completed"];

interface CoursePeople {
  studentStates?: Uint8Array;
  studentNameOrder?: Int32Array;
  staffNameOrder?: Int32Array;
  userOrder?: Int32Array;
  /** The state overlay: student index to the state a day of activity set. */
  stateOverrides?: Map<number, EnrollmentState>;
}

/** Indexes 0..count-1 ordered by sortable name, then index (Canvas: `order(sortable_name, :id)`). */
function nameOrder(count: number, sortableName: (index: number) => string): Int32Array {
  const keys = Array.from({ length: count }, (_, i) => sortableName(i));
  const order = Int32Array.from({ length: count }, (_, i) => i);
  const collator = new Intl.Collator("en", { sensitivity: "base" });
  order.sort((a, b) => collator.compare(keys[a]!, keys[b]!) || a - b);
  return order;
}

/**
 * A student's last day present, as an attendance tool records it, in a course that takes attendance
 * (Roll Call): most active students attended in the last ten days, dropped ones (inactive, completed)
 * weeks ago, invited ones and a few others never. A class day at 08:00–15:00 UTC, always before `now`.
 */
function generatedLastAttended(
  course: CourseInfo,
  state: EnrollmentState,
  activityHash: number,
  now: number,
): number | null {
  if (!course.hasAttendance || state === "invited" || draw(activityHash, 4) < 0.08) return null;
  const spread = draw(activityHash, 5);
  const daysAgo = state === "active" ? 1 + Math.floor(spread * 10) : 15 + Math.floor(spread * 30);
  const day = Math.floor(now / DAY) * DAY - daysAgo * DAY;
  return day + (8 + Math.floor(draw(activityHash, 6) * 8)) * HOUR;
}

export class People {
  readonly adminUserId = 1;
  readonly staffPerCourse: number;
  readonly stride: number;
  readonly staffBase = 2;
  readonly studentBase: number;
  readonly studentPoolSize: number;
  readonly enrollmentsPerCourse: number;
  readonly #config: ModelConfig;
  readonly #catalog: Catalog;
  readonly #byCourse = new PerCourse<CoursePeople>();
  /** The enrollment overlay: `last_attended_at` by `${courseId}:${userId}`. */
  readonly #lastAttended = new Map<string, number>();

  constructor(config: ModelConfig, catalog: Catalog) {
    this.#config = config;
    this.#catalog = catalog;
    const { courses, studentsPerCourse, teachersPerCourse, tasPerCourse } = config;
    this.staffPerCourse = teachersPerCourse + tasPerCourse;
    const overlap = courses > 1 ? Math.floor(studentsPerCourse / 10) : 0;
    this.stride = studentsPerCourse - overlap;
    this.studentBase = this.staffBase + courses * this.staffPerCourse;
    this.studentPoolSize = (courses - 1) * this.stride + studentsPerCourse;
    this.enrollmentsPerCourse = this.staffPerCourse + studentsPerCourse;
  }

  get userCount(): number {
    return this.studentBase + this.studentPoolSize - 1;
  }

  // ---- users --------------------------------------------------------------------------------

  /** What a user id is, without building the user. */
  userKind(id: number): UserKind | undefined {
    if (!Number.isInteger(id) || id < 1) return undefined;
    if (id === this.adminUserId) return "admin";
    if (id < this.studentBase) {
      return (id - this.staffBase) % this.staffPerCourse < this.#config.teachersPerCourse ? "teacher" : "ta";
    }
    if (id < this.studentBase + this.studentPoolSize) return "student";
    return undefined;
  }

  user(id: number): UserInfo | undefined {
    const kind = this.userKind(id);
    if (!kind) return undefined;
    const createdAt = this.#config.now - 400 * DAY + (id % 1000) * 3600_000;
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
    const h = hash4(this.#config.seed, Kind.userName, id);
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

  // ---- who is in which course ---------------------------------------------------------------

  /** Courses a student id belongs to (at most two: neighbouring courses share students). */
  studentCourses(userId: number): number[] {
    const p = userId - this.studentBase;
    if (p < 0 || p >= this.studentPoolSize) return [];
    const result: number[] = [];
    const upper = Math.min(this.#config.courses, Math.floor(p / this.stride) + 1);
    for (let c = Math.max(1, upper - 1); c <= upper; c++) {
      const start = (c - 1) * this.stride;
      if (p >= start && p < start + this.#config.studentsPerCourse) result.push(c);
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
    if (!this.#catalog.hasCourse(courseId) || !Number.isInteger(userId)) return -1;
    const index = userId - this.studentBase - (courseId - 1) * this.stride;
    return index >= 0 && index < this.#config.studentsPerCourse ? index : -1;
  }

  staffId(courseId: number, index: number): number {
    return this.staffBase + (courseId - 1) * this.staffPerCourse + index;
  }

  /** Index of a user among a course's teachers+TAs, or -1. */
  staffIndex(courseId: number, userId: number): number {
    if (!this.#catalog.hasCourse(courseId) || !Number.isInteger(userId)) return -1;
    const index = userId - this.staffBase - (courseId - 1) * this.staffPerCourse;
    return index >= 0 && index < this.staffPerCourse ? index : -1;
  }

  studentState(courseId: number, index: number): EnrollmentState {
    const override = this.#byCourse.get(courseId).stateOverrides?.get(index);
    return override ?? ENROLLMENT_STATES[this.#studentStates(courseId)[index]!]!;
  }

  /** Sets a student's enrollment state over the generated one (dropped: `deleted`; enrolled: `active`). */
  setStudentState(courseId: number, index: number, state: EnrollmentState): void {
    const entry = this.#byCourse.get(courseId);
    entry.stateOverrides ??= new Map();
    entry.stateOverrides.set(index, state);
  }

  /** Student indexes of a course whose enrollment is deleted (dropped), ascending. */
  droppedStudents(courseId: number): number[] {
    const overrides = this.#byCourse.get(courseId).stateOverrides;
    if (!overrides) return [];
    const dropped: number[] = [];
    for (const [index, state] of overrides) if (state === "deleted") dropped.push(index);
    return dropped.sort((a, b) => a - b);
  }

  #studentStates(courseId: number): Uint8Array {
    const entry = this.#byCourse.get(courseId);
    if (!entry.studentStates) {
      const states = new Uint8Array(this.#config.studentsPerCourse);
      for (let k = 0; k < states.length; k++) {
        const unit = draw(hash4(this.#config.seed, Kind.enrollmentState, courseId, k), 0);
        states[k] = unit < 0.93 ? 0 : unit < 0.95 ? 1 : unit < 0.97 ? 2 : 3;
      }
      entry.studentStates = states;
    }
    return entry.studentStates;
  }

  /** Student indexes ordered by sortable name then id (Canvas: `order(:type, sortable_name, :id)`). */
  studentNameOrder(courseId: number): Int32Array {
    const entry = this.#byCourse.get(courseId);
    entry.studentNameOrder ??= nameOrder(
      this.#config.studentsPerCourse,
      (k) => this.user(this.studentId(courseId, k))!.sortableName,
    );
    return entry.studentNameOrder;
  }

  #staffNameOrder(courseId: number): Int32Array {
    const entry = this.#byCourse.get(courseId);
    entry.staffNameOrder ??= nameOrder(
      this.staffPerCourse,
      (j) => this.user(this.staffId(courseId, j))!.sortableName,
    );
    return entry.staffNameOrder;
  }

  /** Every enrollment slot of a course ordered by the user's sortable name, then user id. */
  userOrder(courseId: number): Int32Array {
    const entry = this.#byCourse.get(courseId);
    if (!entry.userOrder) {
      // Every slot whatever its state (dropped ones too): the order must not depend on when it was built.
      const everyState = new Set<EnrollmentState>([...ENROLLMENT_STATES, "deleted"]);
      const slots = Array.from(this.enrollmentSlots(courseId, null, everyState, null));
      const userIdOf = (slot: number) => this.enrollmentAtSlot(courseId, slot).userId;
      const names = new Map(slots.map((slot) => [slot, this.user(userIdOf(slot))!.sortableName]));
      const collator = new Intl.Collator("en", { sensitivity: "base" });
      slots.sort((a, b) => collator.compare(names.get(a)!, names.get(b)!) || userIdOf(a) - userIdOf(b));
      entry.userOrder = Int32Array.from(slots);
    }
    return entry.userOrder;
  }

  // ---- enrollments --------------------------------------------------------------------------

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
    const type: EnrollmentType =
      index < this.#config.teachersPerCourse ? "TeacherEnrollment" : "TaEnrollment";
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
    const h = hash4(this.#config.seed, Kind.activity, courseId, userId);
    const course = this.#catalog.course(courseId)!;
    const inactive = draw(h, 0) < 0.04 || state === "invited";
    return {
      id: this.enrollmentId(courseId, slot),
      courseId,
      userId,
      type,
      state,
      sectionId: courseId,
      createdAt: course.createdAt + Math.floor(draw(h, 1) * 20 * DAY),
      lastActivityAt: inactive ? null : floorToSecond(this.#config.now - draw(h, 2) * 14 * DAY),
      totalActivityTime: inactive ? 0 : Math.floor(draw(h, 3) * 360_000),
      lastAttendedAt:
        this.#lastAttended.get(`${courseId}:${userId}`) ??
        (studentIndex === -1 ? null : generatedLastAttended(course, state, h, this.#config.now)),
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
    for (const type of ENROLLMENT_TYPES) {
      if (types && !types.has(type)) continue;
      if (type === "StudentEnrollment") {
        const stateCodes = this.#studentStates(courseId);
        const overrides = this.#byCourse.get(courseId).stateOverrides;
        const order = this.studentNameOrder(courseId);
        for (let i = 0; i < order.length; i++) {
          const k = order[i]!;
          const state = overrides?.get(k) ?? ENROLLMENT_STATES[stateCodes[k]!]!;
          if (states.has(state)) result.push(staff + k);
        }
      } else if (states.has("active")) {
        const order = this.#staffNameOrder(courseId);
        for (let i = 0; i < order.length; i++) {
          const j = order[i]!;
          const isTeacher = j < this.#config.teachersPerCourse;
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
}
