import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActivityReport, type CanvasSim, DEFAULT_NOW } from "../src/index.js";
import { type CallResult, call, startSim } from "./helpers.js";

const DAY_SECONDS = 86_400;

interface ActivityAnswer extends ActivityReport {
  at: string;
  counts: Record<keyof ActivityReport, number>;
}

async function activity(sim: CanvasSim, body: unknown): Promise<{ status: number; json: ActivityAnswer }> {
  const response = await fetch(`${sim.url}/__sim/activity`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as ActivityAnswer };
}

interface Sub {
  id: number;
  user_id: number;
  assignment_id: number;
  submitted_at: string | null;
  graded_at: string | null;
  workflow_state: string;
  excused: boolean;
  attempt: number | null;
}

/** Every submission of course 1 for a query, following Link rel="next". */
async function listSubmissions(sim: CanvasSim, query: string): Promise<Sub[]> {
  const rows: Sub[] = [];
  let url: string | undefined =
    `/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=100${query}`;
  while (url) {
    const page: CallResult<Sub[]> = await call<Sub[]>(sim, url);
    expect(page.status).toBe(200);
    rows.push(...page.body);
    url = /<([^>]+)>; rel="next"/.exec(page.headers.get("link") ?? "")?.[1];
  }
  return rows;
}

const ids = (rows: { id: number }[]) => rows.map((r) => r.id).sort((a, b) => a - b);
const courseOne = (sim: CanvasSim, list: number[]) => {
  const { first, last } = sim.data.submissionIdRange(1);
  return list.filter((id) => id >= first && id <= last);
};

describe("POST /__sim/activity", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({
      // The generated data's epoch: "the last ten days" then holds generated submissions too.
      now: DEFAULT_NOW,
      freezeClock: true,
      throttle: false,
      studentsPerCourse: 40,
      assignmentsPerCourse: 10,
    });
  });
  afterAll(() => sim.close());

  it("is deterministic for a seed, changes about the fraction, and answers counts and ids", async () => {
    const twin = await startSim({
      // The generated data's epoch: "the last ten days" then holds generated submissions too.
      now: DEFAULT_NOW,
      freezeClock: true,
      throttle: false,
      studentsPerCourse: 40,
      assignmentsPerCourse: 10,
    });
    try {
      const a = await activity(sim, { fraction: 0.05, seed: 3 });
      const b = await activity(twin, { fraction: 0.05, seed: 3 });
      expect(a.status).toBe(200);
      expect(a.json).toEqual(b.json);
      const { counts } = a.json;
      // 5% of 3 × 400 submissions = 60, minus rows of students dropped before (none on day one).
      expect(counts.submitted + counts.graded).toBe(60);
      expect(counts.excused).toBe(3);
      expect(counts.dropped).toBe(3);
      expect(a.json.submitted.length).toBe(counts.submitted);
      const other = await activity(twin, { fraction: 0.05, seed: 4 });
      expect(other.json.graded).not.toEqual(a.json.graded);
    } finally {
      await twin.close();
    }
  });

  it("refuses a fraction outside [0, 1]", async () => {
    const answer = await activity(sim, { fraction: 1.5, seed: 1 });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.json)).toContain("fraction");
  });

  it("stamps changes at the clock's now, so submitted_since / graded_since find exactly them", async () => {
    sim.advanceClock(DAY_SECONDS);
    const before = new Date(sim.now() - 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const day = await activity(sim, { fraction: 0.05, seed: 9 });
    const submitted = await listSubmissions(sim, `&submitted_since=${before}`);
    const graded = await listSubmissions(sim, `&graded_since=${before}`);
    expect(ids(submitted)).toEqual(courseOne(sim, day.json.submitted));
    // Canvas sets graded_at when a grade is given or the submission is excused.
    expect(ids(graded)).toEqual(
      courseOne(sim, [...day.json.graded, ...day.json.excused]).sort((x, y) => x - y),
    );
    for (const row of submitted) {
      expect(row.workflow_state).toBe("submitted");
      expect(row.submitted_at).toBe(day.json.at);
    }
    for (const row of graded) expect(row.graded_at).toBe(day.json.at);
    // Both filters narrow the same query (Canvas chains two WHERE clauses): the intersection.
    const both = await listSubmissions(sim, `&submitted_since=${before}&graded_since=${before}`);
    expect(both).toEqual([]);
  });

  it("combines the two filters with AND and compares strictly after the given time", async () => {
    const since = new Date(sim.now() - 10 * DAY_SECONDS * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
    const all = await listSubmissions(sim, "");
    const sinceMs = Date.parse(since);
    const expected = all.filter(
      (r) =>
        r.submitted_at !== null &&
        Date.parse(r.submitted_at) > sinceMs &&
        r.graded_at !== null &&
        Date.parse(r.graded_at) > sinceMs,
    );
    expect(expected.length).toBeGreaterThan(0);
    expect(ids(await listSubmissions(sim, `&submitted_since=${since}&graded_since=${since}`))).toEqual(
      ids(expected),
    );
    const exact = all.find((r) => r.graded_at !== null)!;
    const strict = await listSubmissions(sim, `&graded_since=${exact.graded_at}`);
    expect(strict.some((r) => r.id === exact.id)).toBe(false);
  });

  it("drops students from the submissions and the roster, and enrolls them again", async () => {
    const dropped = new Set<number>();
    const added = new Set<number>();
    for (let seed = 20; seed < 24; seed++) {
      const day = await activity(sim, { fraction: 0.02, seed });
      for (const id of day.json.dropped) dropped.add(id);
      for (const id of day.json.added) {
        added.add(id);
        dropped.delete(id);
      }
    }
    expect(added.size).toBeGreaterThan(0);
    const roster = await call<{ id: number; user_id: number }[]>(
      sim,
      "/api/v1/courses/1/enrollments?per_page=100&type[]=StudentEnrollment",
    );
    const rosterIds = new Set(roster.body.map((e) => e.id));
    const students = new Set(roster.body.map((e) => e.user_id));
    const droppedInOne = [...dropped].filter((id) => !rosterIds.has(id));
    expect(droppedInOne.length).toBeGreaterThan(0);
    const submissions = await listSubmissions(sim, "");
    const users = new Set(submissions.map((s) => s.user_id));
    // Every listed submission belongs to a student still enrolled (in any listed state)...
    const listedStates = await call<{ user_id: number }[]>(
      sim,
      "/api/v1/courses/1/enrollments?per_page=100&type[]=StudentEnrollment&state[]=active&state[]=invited&state[]=inactive&state[]=completed",
    );
    const enrolled = new Set(listedStates.body.map((e) => e.user_id));
    for (const user of users) expect(enrolled.has(user)).toBe(true);
    expect(users.size).toBe(enrolled.size);
    expect(students.size).toBeLessThanOrEqual(enrolled.size);
  });
});
