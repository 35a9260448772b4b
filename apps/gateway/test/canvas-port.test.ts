import { CanvasClient } from "@easel/canvas-client";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canvasPortFor } from "../src/canvas-port.js";
import { startSim } from "./helpers.js";

const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ courses: 1, studentsPerCourse: 100, assignmentsPerCourse: 3 });
});
afterAll(async () => {
  await sim?.close();
});

describe("the Canvas port's grouped submissions", () => {
  it("split explicit students as the client's maxUrlLength demands, with the same rows", async () => {
    const studentIds = sim.data.studentIds(1).slice(0, 100);
    const roomy = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
    const tight = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken, maxUrlLength: 512 });
    try {
      sim.resetStats();
      const whole = await canvasPortFor(roomy).groupedSubmissions(1, studentIds, undefined);
      expect(sim.stats().requests.byRoute[SUBMISSIONS]).toBe(1);

      sim.resetStats();
      const split = await canvasPortFor(tight).groupedSubmissions(1, studentIds, undefined);
      // 100 ids do not fit in a 512-byte URL: several smaller requests, never one 400.
      expect(sim.stats().requests.byRoute[SUBMISSIONS]).toBeGreaterThan(1);
      expect(sim.stats().requests.byStatus["400"]).toBeUndefined();
      expect(split).toEqual(whole);
      expect(split.map((row) => row.user_id)).toEqual(studentIds);
    } finally {
      await roomy.close();
      await tight.close();
    }
  });
});
