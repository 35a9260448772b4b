import type { LastAttendedResult, Progress } from "@easel/canvas-client";
import type { GradeChange } from "../canvas-port.js";
import { badInput } from "../errors.js";
import { builder } from "./builder.js";
import { canvasId } from "./ids.js";
import { ProgressRef } from "./progress.js";

/** Students per updateGrades call: Canvas takes them in one form body. */
const MAX_GRADES = 500;

const GradeInputRef = builder.inputType("GradeInput", {
  description: "One student's change. At least one of postedGrade, excuse, comment.",
  fields: (t) => ({
    studentId: t.id({ required: true }),
    postedGrade: t.string({
      required: false,
      description: 'A score ("9.5"), percentage ("95%") or letter ("A-").',
    }),
    excuse: t.boolean({ required: false }),
    comment: t.string({ required: false, description: "Added as a submission comment." }),
  }),
});

interface LastAttendedShape {
  courseId: number;
  studentId: number;
  date: string;
}

const LastAttendedRef = builder.objectRef<LastAttendedShape>("LastAttended").implement({
  fields: (t) => ({
    courseId: t.id({ nullable: false, resolve: (r) => r.courseId }),
    studentId: t.id({ nullable: false, resolve: (r) => r.studentId }),
    lastAttendedAt: t.field({ type: "DateTime", nullable: false, resolve: (r) => r.date }),
  }),
});

builder.mutationFields((t) => ({
  updateGrades: t.field({
    type: ProgressRef,
    nullable: false,
    description:
      "Grades (or excuses, or comments on) many students' submissions for one assignment in one Canvas job. Returns the job's Progress: poll `progress(id)` or subscribe to it.",
    args: {
      courseId: t.arg.id({ required: true }),
      assignmentId: t.arg.id({ required: true }),
      grades: t.arg({ type: [GradeInputRef], required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const courseId = canvasId(args.courseId, "courseId");
      const assignmentId = canvasId(args.assignmentId, "assignmentId");
      if (args.grades.length === 0 || args.grades.length > MAX_GRADES) {
        throw badInput(`grades must list 1 to ${MAX_GRADES} students`);
      }
      const seen = new Set<number>();
      const changes: GradeChange[] = args.grades.map((g) => {
        const studentId = canvasId(g.studentId, "grades.studentId");
        if (seen.has(studentId)) throw badInput(`grades lists student ${studentId} twice`);
        seen.add(studentId);
        if ((g.postedGrade ?? null) === null && (g.excuse ?? null) === null && (g.comment ?? null) === null) {
          throw badInput("each grade needs postedGrade, excuse or comment");
        }
        return { studentId, postedGrade: g.postedGrade, excuse: g.excuse, comment: g.comment };
      });
      let progress: Progress;
      try {
        progress = await ctx.canvas.updateGrades(courseId, assignmentId, changes);
      } catch (error) {
        await ctx.lists.invalidateCourse(courseId);
        throw error;
      }
      // Every credential's view of the course changes. The job runs on after this: reads made
      // meanwhile are dropped again when `progress` sees it finish.
      await ctx.lists.invalidateCourse(courseId, { everyone: true });
      // Before the answer: a replica serving a stored answer next must already see the write.
      await ctx.invalidateResponses();
      await ctx.lists.watchJob(progress.id, courseId);
      return progress;
    },
  }),
  setLastAttended: t.field({
    type: LastAttendedRef,
    nullable: false,
    description: "Sets the student's last attended date on all their enrollments in the course.",
    args: {
      courseId: t.arg.id({ required: true }),
      studentId: t.arg.id({ required: true }),
      date: t.arg({ type: "DateTime", required: true }),
    },
    resolve: async (_root, args, ctx) => {
      const courseId = canvasId(args.courseId, "courseId");
      const studentId = canvasId(args.studentId, "studentId");
      let result: LastAttendedResult;
      try {
        result = await ctx.canvas.setLastAttended(courseId, studentId, args.date);
      } catch (error) {
        await ctx.lists.invalidateCourse(courseId);
        throw error;
      }
      await ctx.lists.invalidateCourse(courseId, { everyone: true });
      // Before the answer: a replica serving a stored answer next must already see the write.
      await ctx.invalidateResponses();
      return { courseId, studentId, date: result?.date ?? args.date };
    },
  }),
}));
