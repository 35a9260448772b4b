/**
 * A day of activity on the seeded Canvas: a fraction of submissions submitted or graded at the clock's
 * now, a few excused, a few students dropped and enrolled. Deterministic for (data seed, activity seed,
 * current overlays): the same sequence of calls on the same simulation changes the same rows.
 *
 * It writes only through the overlays of the modules owning the data (submissions, people), so every
 * change is visible exactly as a change through the API would be, including to `submitted_since` /
 * `graded_since`.
 */
import { hash4, Kind, mulberry32 } from "../hash.js";
import type { SimModel } from "./model.js";

export interface ActivityOptions {
  /** Share of each course's submissions changed, in [0, 1]. */
  fraction: number;
  seed: number;
  /** When it happens (epoch ms): every timestamp written. */
  at: number;
}

/** What a day of activity changed, by id. */
export interface ActivityReport {
  submitted: number[];
  graded: number[];
  excused: number[];
  /** Enrollment ids whose student was dropped (state `deleted`). */
  dropped: number[];
  /** Enrollment ids of students enrolled (a dropped student re-enrolled, or an invitation accepted). */
  added: number[];
}

export function applyActivity(model: SimModel, options: ActivityOptions): ActivityReport {
  const { fraction, at } = options;
  const random = mulberry32(hash4(model.config.seed, Kind.dayActivity, options.seed));
  const report: ActivityReport = { submitted: [], graded: [], excused: [], dropped: [], added: [] };
  const { assignmentsPerCourse: a, studentsPerCourse: s } = model.config;
  const total = a * s;
  for (const course of model.catalog.courseIds()) {
    const dropped = new Set(model.people.droppedStudents(course));
    const changes = Math.round(total * fraction);
    const excusals = changes > 0 ? Math.max(1, Math.round(changes * 0.03)) : 0;
    // Sparse sampling (rejection) for small fractions; dense runs fall back to a full shuffle.
    const positions = samplePositions(total, changes + excusals, random);
    let n = 0;
    for (const position of positions) {
      const assignmentIndex = Math.floor(position / s);
      const studentIndex = position % s;
      n++;
      if (dropped.has(studentIndex)) continue; // invisible on Canvas: nothing to do
      const row = model.submissions.row(course, assignmentIndex, studentIndex);
      const points = model.assignments.at(course, assignmentIndex).pointsPossible;
      if (n > changes) {
        model.submissions.postGrade(
          course,
          assignmentIndex,
          studentIndex,
          { score: null, excused: true },
          at,
          staff(model, course),
        );
        report.excused.push(row.id);
        continue;
      }
      const isAttendance = model.assignments.at(course, assignmentIndex).isAttendance;
      const submits =
        !isAttendance &&
        !row.excused &&
        (row.submittedAt === null || (row.workflowState === "graded" && random() < 0.4));
      if (submits) {
        model.submissions.submit(course, assignmentIndex, studentIndex, at);
        report.submitted.push(row.id);
      } else {
        const score = Math.round(random() * points * 2) / 2;
        model.submissions.postGrade(
          course,
          assignmentIndex,
          studentIndex,
          { score, excused: false },
          at,
          staff(model, course),
        );
        report.graded.push(row.id);
      }
    }
    const moves = fraction > 0 ? Math.max(1, Math.round(s * fraction * 0.25)) : 0;
    // Enroll first (previously dropped students, else invited ones accepting), then drop others.
    const enrollable = [...dropped];
    for (let k = 0; k < s && enrollable.length < moves; k++) {
      if (model.people.studentState(course, k) === "invited") enrollable.push(k);
    }
    for (const k of pickSome(enrollable, moves, random)) {
      model.people.setStudentState(course, k, "active");
      report.added.push(model.people.studentEnrollment(course, k).id);
    }
    for (let i = 0, tries = 0; i < moves && tries < 20 * moves; tries++) {
      const k = Math.floor(random() * s);
      if (
        model.people.studentState(course, k) !== "active" ||
        report.added.includes(model.people.studentEnrollment(course, k).id)
      )
        continue;
      model.people.setStudentState(course, k, "deleted");
      report.dropped.push(model.people.studentEnrollment(course, k).id);
      i++;
    }
  }
  for (const list of Object.values(report)) list.sort((x: number, y: number) => x - y);
  return report;
}

function staff(model: SimModel, courseId: number): number {
  return model.people.staffId(courseId, 0);
}

/** `count` distinct positions in [0, total), in draw order. */
function samplePositions(total: number, count: number, random: () => number): number[] {
  const wanted = Math.min(total, count);
  if (wanted * 4 > total) {
    const all = Array.from({ length: total }, (_, i) => i);
    return pickSome(all, wanted, random);
  }
  const seen = new Set<number>();
  const result: number[] = [];
  while (result.length < wanted) {
    const position = Math.floor(random() * total);
    if (seen.has(position)) continue;
    seen.add(position);
    result.push(position);
  }
  return result;
}

/** Up to `count` elements of `list`, by a partial Fisher-Yates shuffle (the list is reordered). */
function pickSome<T>(list: T[], count: number, random: () => number): T[] {
  const n = Math.min(count, list.length);
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (list.length - i));
    [list[i], list[j]] = [list[j]!, list[i]!];
  }
  return list.slice(0, n);
}
