/**
 * Submissions: one per (assignment, student) of a course, each a pure function of the seed generated in
 * O(1) on every call, with ids ordered (course, assignment, student). Course grades and per-student
 * tardiness are sums over a student's submissions, cached until a grade changes.
 *
 * Every change made to a submission (a grade posted through the API, a submission or grade from a day of
 * activity) lives in this module's overlay (`#overrides`, one entry per submission id), applied on top of
 * the generated row in `row()`. `version` counts overlay
 * changes; caches of anything derived from submissions compare it to know when to recompute.
 */
import { draw, hash4, Kind } from "../hash.js";
import type { AssignmentInfo, Assignments } from "./assignments.js";
import { DAY, floorToSecond, HOUR, type ModelConfig, PerCourse } from "./config.js";
import { formatGrade, letterFor, round2 } from "./grading.js";
import type { People } from "./people.js";

export type WorkflowState = "graded" | "submitted" | "unsubmitted" | "pending_review";

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

/** A (re)submission made by a day of activity: a new attempt at `submittedAt`. */
export interface SubmitOverride {
  submittedAt: number;
  attempt: number;
}

/** Everything changed on one submission; `gradedLast` says whether a grade came after the last submission. */
interface SubmissionOverride {
  grade?: GradeOverride;
  submit?: SubmitOverride;
  gradedLast: boolean;
}

export interface CourseGrades {
  currentScore: number | null;
  finalScore: number | null;
  currentGrade: string | null;
  finalGrade: string | null;
  currentPoints: number;
}

/** Counts of a student's submissions for the analytics tardiness breakdown. */
export interface Tardiness {
  onTime: number;
  late: number;
  missing: number;
  floating: number;
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

interface CourseSubmissions {
  aggregates?: StudentAggregates;
  needsGrading?: { version: number; counts: Int32Array };
}

export class Submissions {
  readonly #config: ModelConfig;
  readonly #people: People;
  readonly #assignments: Assignments;
  readonly #byCourse = new PerCourse<CourseSubmissions>();
  /** The overlay: API changes by submission id. */
  readonly #overrides = new Map<number, SubmissionOverride>();
  /** Bumped whenever the overlay changes, to invalidate score-derived caches. */
  #version = 0;

  constructor(config: ModelConfig, people: People, assignments: Assignments) {
    this.#config = config;
    this.#people = people;
    this.#assignments = assignments;
  }

  get version(): number {
    return this.#version;
  }

  /** Submission id: ordered by (course, assignment, student), contiguous per course. */
  id(courseId: number, assignmentIndex: number, studentIndex: number): number {
    const { assignmentsPerCourse: a, studentsPerCourse: s } = this.#config;
    return (courseId - 1) * a * s + assignmentIndex * s + studentIndex + 1;
  }

  /** A course's submission ids are the contiguous range [first, last]. */
  idRange(courseId: number): { first: number; last: number } {
    const { assignmentsPerCourse: a, studentsPerCourse: s } = this.#config;
    return { first: this.id(courseId, 0, 0), last: this.id(courseId, a - 1, s - 1) };
  }

  /** The (assignment index, student index) of a submission id within a course, or null. */
  position(courseId: number, id: number): [number, number] | null {
    const { assignmentsPerCourse: a, studentsPerCourse: s } = this.#config;
    const local = id - 1 - (courseId - 1) * a * s;
    if (!Number.isInteger(local) || local < 0 || local >= a * s) return null;
    return [Math.floor(local / s), local % s];
  }

  /** Generates one submission (plus any posted grade) in O(1). */
  row(courseId: number, assignmentIndex: number, studentIndex: number): SubmissionRow {
    const assignment = this.#assignments.at(courseId, assignmentIndex);
    const id = this.id(courseId, assignmentIndex, studentIndex);
    const userId = this.#people.studentId(courseId, studentIndex);
    const now = this.#config.now;
    const h = hash4(this.#config.seed, Kind.submission, courseId, assignmentIndex, studentIndex);
    const ability = this.#ability(courseId, studentIndex);
    const points = assignment.pointsPossible;
    const grader = this.#people.staffId(courseId, 0);
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
      const gradedAt = floorToSecond(now - draw(h, 4) * 2 * DAY);
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
        submittedAt = floorToSecond(submittedAt);
        row.submittedAt = submittedAt;
        row.attempt = draw(h, 7) < 0.2 ? 2 : 1;
        row.submissionType = assignment.submissionTypes[0] ?? null;
        if (submittedAt > due) {
          row.late = true;
          row.secondsLate = Math.floor((submittedAt - due) / 1000);
        }
        if (graded) {
          row.score = Math.round(fraction * points * 2) / 2;
          row.gradedAt = floorToSecond(
            Math.max(
              submittedAt + 60_000,
              Math.min(submittedAt + Math.floor((0.5 + draw(h, 5) * 4) * DAY), now - HOUR),
            ),
          );
          row.graderId = grader;
        }
      }
    }
    if (row.score !== null) row.grade = formatGrade(assignment, row.score);
    if (this.#overrides.size > 0) {
      const override = this.#overrides.get(id);
      if (override) applyOverride(row, override, assignment.submissionTypes[0] ?? "online_text_entry");
    }
    return row;
  }

  #ability(courseId: number, studentIndex: number): number {
    const h = hash4(this.#config.seed, Kind.studentAbility, courseId, studentIndex);
    return 0.55 + 0.45 * ((draw(h, 0) + draw(h, 1) + draw(h, 2)) / 3);
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
    const assignment: AssignmentInfo = this.#assignments.at(courseId, assignmentIndex);
    const id = this.id(courseId, assignmentIndex, studentIndex);
    const grade: GradeOverride = {
      score: change.excused ? null : change.score,
      grade: change.excused || change.score === null ? null : formatGrade(assignment, change.score),
      excused: change.excused,
      gradedAt: floorToSecond(at),
      graderId,
    };
    this.#overrides.set(id, { ...this.#overrides.get(id), grade, gradedLast: true });
    this.#version++;
  }

  /**
   * Records a (re)submission at `at`: a new attempt, `submitted` until graded again. A grade it follows
   * stays (score, graded_at) as on Canvas, where a resubmission leaves the old grade in place.
   */
  submit(courseId: number, assignmentIndex: number, studentIndex: number, at: number): void {
    const id = this.id(courseId, assignmentIndex, studentIndex);
    const attempt = (this.row(courseId, assignmentIndex, studentIndex).attempt ?? 0) + 1;
    const submit: SubmitOverride = { submittedAt: floorToSecond(at), attempt };
    this.#overrides.set(id, { ...this.#overrides.get(id), submit, gradedLast: false });
    this.#version++;
  }

  /** Sums over a student's submissions (O(A) once, then O(1) until a grade changes). */
  #aggregates(courseId: number, studentIndex: number): StudentAggregates {
    const entry = this.#byCourse.get(courseId);
    const count = this.#config.studentsPerCourse;
    if (!entry.aggregates || entry.aggregates.version !== this.#version) {
      entry.aggregates = {
        version: this.#version,
        filled: new Uint8Array(count),
        points: new Float64Array(count * 3),
        tardiness: new Int32Array(count * 4),
      };
    }
    const aggregates = entry.aggregates;
    if (aggregates.filled[studentIndex] === 0) {
      const assignments = this.#assignments.ofCourse(courseId);
      let earned = 0;
      let gradedPossible = 0;
      let allPossible = 0;
      let onTime = 0;
      let late = 0;
      let missing = 0;
      let floating = 0;
      for (let i = 0; i < assignments.length; i++) {
        const row = this.row(courseId, i, studentIndex);
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

  /** A student's submissions by timeliness: submitted on time or late, missing, or neither (floating). */
  tardiness(courseId: number, studentIndex: number): Tardiness {
    const { tardiness } = this.#aggregates(courseId, studentIndex);
    const base = studentIndex * 4;
    return {
      onTime: tardiness[base]!,
      late: tardiness[base + 1]!,
      missing: tardiness[base + 2]!,
      floating: tardiness[base + 3]!,
    };
  }

  /** needs_grading_count per assignment index (submitted or pending review), cached until a grade changes. */
  needsGrading(courseId: number): Int32Array {
    const entry = this.#byCourse.get(courseId);
    if (entry.needsGrading && entry.needsGrading.version === this.#version) return entry.needsGrading.counts;
    const counts = new Int32Array(this.#config.assignmentsPerCourse);
    for (let i = 0; i < counts.length; i++) {
      let n = 0;
      for (let k = 0; k < this.#config.studentsPerCourse; k++) {
        const state = this.row(courseId, i, k).workflowState;
        if (state === "submitted" || state === "pending_review") n++;
      }
      counts[i] = n;
    }
    entry.needsGrading = { version: this.#version, counts };
    return counts;
  }
}

function applyOverride(row: SubmissionRow, override: SubmissionOverride, submissionType: string): void {
  const { submit, grade } = override;
  if (submit) {
    row.submittedAt = submit.submittedAt;
    row.attempt = submit.attempt;
    row.submissionType ??= submissionType;
    row.missing = false;
    row.late = row.dueAt !== null && submit.submittedAt > row.dueAt;
    row.secondsLate = row.late ? Math.floor((submit.submittedAt - row.dueAt!) / 1000) : 0;
    if (!row.excused) row.workflowState = "submitted";
  }
  if (!grade) return;
  row.score = grade.score;
  row.grade = grade.grade;
  row.excused = grade.excused;
  row.gradedAt = grade.gradedAt;
  row.graderId = grade.graderId;
  if (grade.excused || grade.score !== null) {
    // Graded after the last submission: graded; resubmitted since: the old grade stays, submitted.
    row.workflowState = override.gradedLast || grade.excused ? "graded" : "submitted";
    row.missing = false;
  } else {
    row.workflowState = row.submittedAt === null ? "unsubmitted" : "submitted";
    row.gradedAt = null;
  }
}
