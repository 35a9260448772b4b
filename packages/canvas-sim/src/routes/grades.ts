/**
 * Grading routes: update_grades (one assignment or many) queue a Progress job whose grades the
 * submissions module's overlay receives when the job finishes; GET progress reports on it.
 */
import { parsePostedGrade } from "../data/grading.js";
import { truthy } from "../http/params.js";
import { json, notFound, type Reply } from "../http/reply.js";
import type { GradeChange } from "../progress.js";
import {
  accessTo,
  courseParam,
  GRADERS,
  parseId,
  type RequestContext,
  type RouteDef,
  requireAccess,
  unauthorized,
} from "../runtime.js";
import { assignmentParam, mapUserIds } from "./submissions.js";

interface GradeEntry {
  apiId: string;
  postedGrade: string | undefined;
  excuse: string | undefined;
}

/** Collects `grade_data[<student_id>][posted_grade|excuse]` (keys nested under `prefix`). */
function gradeEntries(ctx: RequestContext, prefix: string): Map<string, GradeEntry> {
  const entries = new Map<string, GradeEntry>();
  const pattern = new RegExp(
    `^${prefix.replace(/[[\]]/g, "\\$&")}\\[([^\\]]+)\\]\\[(posted_grade|excuse)\\]$`,
  );
  for (const key of ctx.params.keys()) {
    const match = pattern.exec(key);
    if (!match) continue;
    const apiId = match[1]!;
    const entry = entries.get(apiId) ?? { apiId, postedGrade: undefined, excuse: undefined };
    if (match[2] === "posted_grade") entry.postedGrade = ctx.params.get(key);
    else entry.excuse = ctx.params.get(key);
    entries.set(apiId, entry);
  }
  return entries;
}

/** Resolves grade entries for one assignment into changes, collecting API ids that are not students. */
function planChanges(
  ctx: RequestContext,
  courseId: number,
  assignmentIndex: number,
  entries: Map<string, GradeEntry>,
  changes: GradeChange[],
  missing: string[],
  unparseable: string[],
): void {
  const { model } = ctx.rt;
  const assignment = model.assignments.ofCourse(courseId)[assignmentIndex]!;
  for (const entry of entries.values()) {
    const [userId] = mapUserIds(ctx, [entry.apiId]);
    const studentIndex =
      userId === undefined || userId < 0 ? -1 : model.people.studentIndex(courseId, userId);
    if (studentIndex === -1) {
      missing.push(entry.apiId);
      continue;
    }
    if (truthy(entry.excuse)) {
      changes.push({ assignmentIndex, studentIndex, score: null, excused: true });
      continue;
    }
    if (entry.postedGrade === undefined) continue;
    const parsed = parsePostedGrade(assignment, entry.postedGrade);
    if (!parsed) {
      unparseable.push(entry.apiId);
      continue;
    }
    changes.push({ assignmentIndex, studentIndex, score: parsed.score, excused: false });
  }
}

function queueGrades(
  ctx: RequestContext,
  courseId: number,
  changes: GradeChange[],
  missing: string[],
  unparseable: string[],
): Reply {
  const { rt } = ctx;
  const messages: string[] = [];
  if (missing.length > 0) {
    messages.push(`Couldn't find User(s) with API ids ${missing.map((id) => `'${id}'`).join(", ")}`);
  }
  if (unparseable.length > 0) {
    messages.push(`Couldn't parse posted_grade for API ids ${unparseable.map((id) => `'${id}'`).join(", ")}`);
  }
  const id = rt.jobs.create({
    courseId,
    graderId: ctx.user!.id,
    changes,
    failureMessage: messages.length > 0 ? messages.join("; ") : null,
    now: ctx.now,
  });
  rt.stats.progressCreated++;
  return json(200, rt.jobs.json(id, ctx.now, ctx.base));
}

/** POST /api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades → Progress. */
function updateGrades(ctx: RequestContext): Reply {
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const index = assignmentParam(ctx, course.id);
  const changes: GradeChange[] = [];
  const missing: string[] = [];
  const unparseable: string[] = [];
  planChanges(ctx, course.id, index, gradeEntries(ctx, "grade_data"), changes, missing, unparseable);
  return queueGrades(ctx, course.id, changes, missing, unparseable);
}

/** POST /api/v1/courses/:course_id/submissions/update_grades with grade_data[<assignment_id>][<student_id>][...]. */
function updateCourseGrades(ctx: RequestContext): Reply {
  const { model } = ctx.rt;
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const assignmentIds = new Set<string>();
  for (const key of ctx.params.keys()) {
    const match = /^grade_data\[([^\]]+)\]\[[^\]]+\]\[(posted_grade|excuse)\]$/.exec(key);
    if (match) assignmentIds.add(match[1]!);
  }
  const changes: GradeChange[] = [];
  const missing: string[] = [];
  const unparseable: string[] = [];
  for (const raw of assignmentIds) {
    const id = parseId(raw);
    const index = id === null ? -1 : model.assignments.index(course.id, id);
    if (index === -1) throw notFound();
    planChanges(
      ctx,
      course.id,
      index,
      gradeEntries(ctx, `grade_data[${raw}]`),
      changes,
      missing,
      unparseable,
    );
  }
  return queueGrades(ctx, course.id, changes, [...new Set(missing)], unparseable);
}

/** GET /api/v1/progress/:id — needs read on the progress's course. */
function showProgress(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const id = parseId(ctx.routeParams.id);
  const courseId = id === null ? undefined : rt.jobs.courseOf(id);
  if (courseId === undefined || id === null) throw notFound();
  if (accessTo(rt, ctx.user!.id, courseId) === null) throw unauthorized(rt);
  return json(200, rt.jobs.json(id, ctx.now, ctx.base));
}

export function gradeRoutes(): RouteDef[] {
  return [
    {
      method: "POST",
      template: "/api/v1/courses/:course_id/assignments/:assignment_id/submissions/update_grades",
      auth: true,
      handler: updateGrades,
    },
    {
      method: "POST",
      template: "/api/v1/courses/:course_id/submissions/update_grades",
      auth: true,
      handler: updateCourseGrades,
    },
    { method: "GET", template: "/api/v1/progress/:id", auth: true, handler: showProgress },
  ];
}
