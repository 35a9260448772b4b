/**
 * Assignments: A per course, ids contiguous per course, one assignment group per kind. A course's list is
 * generated once, on first use, and never changes.
 */
import { draw, hash4, Kind, pick } from "../hash.js";
import type { Catalog } from "./catalog.js";
import { DAY, HOUR, type ModelConfig } from "./config.js";
import { ASSIGNMENT_GROUPS, ASSIGNMENT_KINDS, ASSIGNMENT_TOPICS } from "./names.js";

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

export class Assignments {
  readonly #config: ModelConfig;
  readonly #catalog: Catalog;
  readonly #byCourse = new Map<number, AssignmentInfo[]>();
  #allIndexes: Int32Array | undefined;

  constructor(config: ModelConfig, catalog: Catalog) {
    this.#config = config;
    this.#catalog = catalog;
  }

  /** A course's assignments by index (empty for an unknown course). */
  ofCourse(courseId: number): readonly AssignmentInfo[] {
    return this.#catalog.hasCourse(courseId) ? this.#list(courseId) : [];
  }

  /** A course's assignments in Canvas's list order: assignment group position, then position. */
  inListOrder(courseId: number): AssignmentInfo[] {
    return this.ofCourse(courseId)
      .slice()
      .sort((a, b) => a.groupId - b.groupId || a.index - b.index);
  }

  /** One assignment of a known course, without the course check (the submission hot path). */
  at(courseId: number, index: number): AssignmentInfo {
    return this.#list(courseId)[index]!;
  }

  /** 0..A-1 as a shared, read-only Int32Array (every request for "all assignments" reuses it). */
  allIndexes(): Int32Array {
    this.#allIndexes ??= Int32Array.from({ length: this.#config.assignmentsPerCourse }, (_, i) => i);
    return this.#allIndexes;
  }

  id(courseId: number, index: number): number {
    return (courseId - 1) * this.#config.assignmentsPerCourse + index + 1;
  }

  /** Index of an assignment id within its course, or -1. */
  index(courseId: number, assignmentId: number): number {
    if (!this.#catalog.hasCourse(courseId) || !Number.isInteger(assignmentId)) return -1;
    const index = assignmentId - 1 - (courseId - 1) * this.#config.assignmentsPerCourse;
    return index >= 0 && index < this.#config.assignmentsPerCourse ? index : -1;
  }

  #list(courseId: number): AssignmentInfo[] {
    let list = this.#byCourse.get(courseId);
    if (!list) {
      list = this.#build(courseId);
      this.#byCourse.set(courseId, list);
    }
    return list;
  }

  #build(courseId: number): AssignmentInfo[] {
    const course = this.#catalog.course(courseId)!;
    const count = this.#config.assignmentsPerCourse;
    const span = course.endAt - course.startAt;
    const result: AssignmentInfo[] = [];
    for (let i = 0; i < count; i++) {
      const id = this.id(courseId, i);
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
      const h = hash4(this.#config.seed, Kind.assignment, courseId, i);
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
}
