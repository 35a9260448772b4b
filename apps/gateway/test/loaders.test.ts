import { CanvasClient } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { canvasPortFor } from "../src/canvas-port.js";
import { createLoaders, studentKey, submissionsKey } from "../src/loaders.js";
import { canvasRoutes, startSim } from "./helpers.js";

const ENROLLMENTS = "GET /api/v1/courses/:course_id/enrollments";
const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";

let sim: CanvasSim;
const rosterIds = (c: number) =>
  sim.data.enrollments(c, { type: ["StudentEnrollment"] }).map((e) => e.user_id as number);

function loadersWithBatches() {
  const client = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
  const batches: Array<[string, number]> = [];
  const loaders = createLoaders(canvasPortFor(client), {
    hooks: { onBatch: (loader, size) => batches.push([loader, size]) },
  });
  return { loaders, batches };
}

beforeAll(async () => {
  sim = await startSim({ courses: 1, studentsPerCourse: 12, assignmentsPerCourse: 4 });
});

beforeEach(() => sim.resetStats());

afterAll(async () => {
  await sim?.close();
});

describe("loader keys are values compared by what they name", () => {
  it("two keys for the same student, built apart, are one load and one Canvas request", async () => {
    const { loaders, batches } = loadersWithBatches();
    const id = rosterIds(1)[3]!;
    const [a, b] = await Promise.all([
      loaders.enrollment.load(studentKey(1, id)),
      loaders.enrollment.load(studentKey(1, id)),
    ]);
    expect(a?.user_id).toBe(id);
    expect(b).toBe(a);
    expect(batches).toEqual([["enrollment", 1]]);
    expect(canvasRoutes(sim)).toEqual({ [ENROLLMENTS]: 1 });
  });

  it("assignment lists in any order or with repeats are the same submissions key", async () => {
    const { loaders, batches } = loadersWithBatches();
    const id = rosterIds(1)[0]!;
    const [first, second] = sim.data.assignments(1).map((a) => a.id as number);
    const [a, b] = await Promise.all([
      loaders.submissions.load(submissionsKey(1, id, [second!, first!])),
      loaders.submissions.load(submissionsKey(1, id, [first!, second!, first!])),
    ]);
    expect(a.map((row) => row.assignment_id).sort()).toEqual([first, second].sort());
    expect(b).toBe(a);
    expect(batches).toEqual([["submissions", 1]]);
    expect(canvasRoutes(sim)).toEqual({ [SUBMISSIONS]: 1 });
  });

  it("the roster walk answers every student's enrollment (primed under the same keys)", async () => {
    const { loaders } = loadersWithBatches();
    const students = await loaders.roster.load(1);
    const walk = canvasRoutes(sim);
    const ids = rosterIds(1);
    const rows = await Promise.all(ids.map((id) => loaders.enrollment.load(studentKey(1, id))));
    expect(rows.map((row) => row?.user_id)).toEqual(ids);
    expect(rows).toEqual(students);
    expect(canvasRoutes(sim)).toEqual(walk);
  });
});
