import type { Assignment } from "@easel/canvas-client";
import { ROLL_CALL_ASSIGNMENT_NAME } from "../canvas-port.js";
import { builder } from "./builder.js";

export const AssignmentRef = builder.objectRef<Assignment>("Assignment").implement({
  description: "An assignment of a course.",
  fields: (t) => ({
    id: t.exposeID("id", { nullable: false }),
    courseId: t.id({ nullable: false, resolve: (a) => a.course_id }),
    name: t.exposeString("name", { nullable: false }),
    pointsPossible: t.float({ nullable: true, resolve: (a) => a.points_possible ?? null }),
    dueAt: t.field({ type: "DateTime", nullable: true, resolve: (a) => a.due_at ?? null }),
    published: t.boolean({ nullable: false, resolve: (a) => a.published !== false }),
    gradingType: t.string({ nullable: true, resolve: (a) => a.grading_type ?? null }),
    submissionTypes: t.stringList({ nullable: false, resolve: (a) => a.submission_types ?? [] }),
    isRollCallAttendance: t.boolean({
      nullable: false,
      description: `True for the Roll Call tool's "${ROLL_CALL_ASSIGNMENT_NAME}" assignment.`,
      resolve: (a) => a.name === ROLL_CALL_ASSIGNMENT_NAME,
    }),
  }),
});
