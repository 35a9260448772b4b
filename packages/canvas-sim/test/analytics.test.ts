import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim, StudentSummaryRow } from "../src/index.js";
import { call, startSim, walk } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ courses: 2, studentsPerCourse: 64, assignmentsPerCourse: 8 });
});
afterAll(() => sim.close());

const path = "/api/v1/courses/1/analytics/student_summaries";

describe("analytics/student_summaries", () => {
  it("returns one row per student with Canvas's fields (max_* course-wide, integer levels)", async () => {
    const { rows } = await walk<StudentSummaryRow>(sim, `${path}?per_page=25`);
    expect(rows).toHaveLength(64);
    expect(rows).toEqual(sim.data.studentSummaries(1));
    expect(new Set(rows.map((row) => row.id))).toEqual(new Set(sim.data.studentIds(1)));
    const maxViews = Math.max(...rows.map((row) => row.page_views ?? 0));
    for (const row of rows) {
      expect(Object.keys(row)).toEqual([
        "id",
        "page_views",
        "max_page_views",
        "page_views_level",
        "participations",
        "max_participations",
        "participations_level",
        "tardiness_breakdown",
      ]);
      expect(row.max_page_views).toBe(maxViews);
      expect([0, 1, 2, 3]).toContain(row.page_views_level);
      const { total, on_time, late, missing, floating } = row.tardiness_breakdown;
      expect(total).toBe(8);
      expect(on_time + late + missing + floating).toBe(total);
    }
  });

  it("sorts by sort_column and filters by student_id", async () => {
    const byViews = await call<StudentSummaryRow[]>(
      sim,
      `${path}?sort_column=page_views_descending&per_page=100`,
    );
    const views = byViews.body.map((row) => row.page_views ?? -1);
    expect(views).toEqual([...views].sort((a, b) => b - a));
    const id = sim.data.studentIds(1)[9]!;
    const one = await call<StudentSummaryRow[]>(sim, `${path}?student_id=${id}`);
    expect(one.body.map((row) => row.id)).toEqual([id]);
  });

  it("tardiness follows the submissions", () => {
    const id = sim.data.studentIds(1)[3]!;
    const row = sim.data.studentSummaries(1).find((summary) => summary.id === id)!;
    const submissions = [...sim.data.submissions(1, { studentIds: [id] })] as unknown as Array<{
      submitted_at: string | null;
      late: boolean;
      missing: boolean;
    }>;
    expect(row.tardiness_breakdown.late).toBe(
      submissions.filter((s) => s.submitted_at !== null && s.late).length,
    );
    expect(row.tardiness_breakdown.missing).toBe(
      submissions.filter((s) => s.submitted_at === null && s.missing).length,
    );
  });

  it("is 404 when the analytics service is disabled", async () => {
    sim.admin.setAnalyticsEnabled(false);
    try {
      const result = await call(sim, path);
      expect(result.status).toBe(404);
      expect(result.body).toEqual({ errors: [{ message: "The specified resource does not exist." }] });
    } finally {
      sim.admin.setAnalyticsEnabled(true);
    }
    expect((await call(sim, path)).status).toBe(200);
  });

  it("serves per-student activity (page views by hour, participations)", async () => {
    const id = sim.data.studentIds(1)[0]!;
    const result = await call<{ page_views: Record<string, number>; participations: unknown[] }>(
      sim,
      `/api/v1/courses/1/analytics/users/${id}/activity`,
    );
    expect(result.status).toBe(200);
    for (const key of Object.keys(result.body.page_views))
      expect(key).toMatch(/^\d{4}-\d\d-\d\dT\d\d:00:00-00:00$/);
    expect(Array.isArray(result.body.participations)).toBe(true);
  });
});
