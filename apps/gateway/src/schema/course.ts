import type { Course, Term } from "@easel/canvas-client";
import { resolveArrayConnection } from "@pothos/plugin-relay";
import type { GatewayContext } from "../context.js";
import { rollCallAssignment, studentKey } from "../loaders.js";
import { AssignmentRef } from "./assignment.js";
import { builder } from "./builder.js";
import { canvasId } from "./ids.js";
import { StudentRef, studentOf } from "./student.js";

/**
 * Connection page sizes. Canvas lists are walked whole whatever the page size, so a bigger page
 * costs Canvas nothing more; the cap bounds the response instead.
 */
const PAGE = { defaultSize: 100, maxSize: 1000 } as const;

export const TermRef = builder.objectRef<Term>("Term").implement({
  fields: (t) => ({
    id: t.exposeID("id", { nullable: false }),
    name: t.exposeString("name", { nullable: false }),
    startAt: t.field({ type: "DateTime", nullable: true, resolve: (term) => term.start_at ?? null }),
    endAt: t.field({ type: "DateTime", nullable: true, resolve: (term) => term.end_at ?? null }),
  }),
});

/** Loaded by id through the dataloader plugin (one loader per request context). */
export const CourseRef = builder.loadableObject("Course", {
  description: "A Canvas course the caller can see.",
  load: (ids: number[], ctx: GatewayContext) => ctx.loaders.course.loadMany(ids),
  fields: (t) => ({
    id: t.exposeID("id", { nullable: false, description: 'The Canvas course id, e.g. "1".' }),
    name: t.exposeString("name", { nullable: false }),
    courseCode: t.string({ nullable: true, resolve: (c: Course) => c.course_code ?? null }),
    workflowState: t.string({ nullable: true, resolve: (c: Course) => c.workflow_state ?? null }),
    startAt: t.field({ type: "DateTime", nullable: true, resolve: (c: Course) => c.start_at ?? null }),
    endAt: t.field({ type: "DateTime", nullable: true, resolve: (c: Course) => c.end_at ?? null }),
    term: t.field({ type: TermRef, nullable: true, resolve: (c: Course) => c.term ?? null }),
    students: t.connection({
      type: StudentRef,
      description:
        "Students (student enrollments), in Canvas's order. The whole roster is read once (Canvas pages of 100) whatever `first` is, and kept for the list cache's TTL, so the next page (`after`) costs Canvas nothing more; `first` defaults to 100, at most 1000.",
      resolve: async (course: Course, args, ctx) => {
        const rows = await ctx.loaders.roster.load(course.id);
        return resolveArrayConnection(
          { args, ...PAGE },
          rows.map((row) => studentOf(course.id, row)),
        );
      },
    }),
    student: t.field({
      type: StudentRef,
      nullable: true,
      description: "One student by Canvas user id, or null when not a student of the course.",
      args: { id: t.arg.id({ required: true }) },
      resolve: async (course: Course, args, ctx) => {
        const row = await ctx.loaders.enrollment.load(studentKey(course.id, canvasId(args.id, "id")));
        return row ? studentOf(course.id, row) : null;
      },
    }),
    assignments: t.connection({
      type: AssignmentRef,
      description: "Assignments, in Canvas's order; `first` defaults to 100, at most 1000.",
      resolve: async (course: Course, args, ctx) =>
        resolveArrayConnection({ args, ...PAGE }, await ctx.loaders.assignments.load(course.id)),
    }),
    rollCallAssignment: t.field({
      type: AssignmentRef,
      nullable: true,
      description: 'The Roll Call Attendance tool\'s assignment ("Roll Call Attendance"), if installed.',
      resolve: async (course: Course, _args, ctx) =>
        rollCallAssignment(await ctx.loaders.assignments.load(course.id)) ?? null,
    }),
  }),
});

builder.queryFields((t) => ({
  courses: t.connection({
    type: CourseRef,
    description: "Courses of the caller (Canvas `GET /courses`), in Canvas's order.",
    resolve: async (_root, args, ctx) =>
      resolveArrayConnection({ args, ...PAGE }, await ctx.loaders.courses.load("mine")),
  }),
  course: t.field({
    type: CourseRef,
    nullable: true,
    description: 'One course by Canvas id, e.g. course(id: "1").',
    args: { id: t.arg.id({ required: true }) },
    resolve: (_root, args) => canvasId(args.id, "id"),
  }),
}));
