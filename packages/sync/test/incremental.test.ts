import { CanvasClient, canvasEndpoints, staticTokenProvider } from "@easel/canvas-client";
import { type CanvasSim, createCanvasSim, DEFAULT_NOW } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CourseSyncResult, canvasCourseSource, migrate, runSync } from "../src/index.js";
import { courseFingerprints, testDatabase } from "./helpers.js";

const COURSES = [1, 2, 3];
const DAYS = Number(process.env.EASEL_INCREMENTAL_DAYS ?? 8);

const incremental = await testDatabase();
const reference = await testDatabase();
let sim: CanvasSim;
let client: CanvasClient;

beforeAll(async () => {
  sim = await createCanvasSim({
    courses: 3,
    studentsPerCourse: 30,
    assignmentsPerCourse: 8,
    seed: 11,
    // Simulated Canvas time behind ours: the high-water mark is capped at when a run started.
    now: DEFAULT_NOW,
    freezeClock: true,
    throttle: false,
  });
  client = new CanvasClient({ baseUrl: sim.url, auth: staticTokenProvider(sim.developerToken) });
  await migrate(incremental.pool, incremental.schema);
  await migrate(reference.pool, reference.schema);
});
afterAll(async () => {
  await sim?.close();
  await incremental.drop();
  await reference.drop();
});

/** A day of activity over the simulator's HTTP control plane. */
async function day(fraction: number, seed: number): Promise<Record<string, number>> {
  const response = await fetch(`${sim.url}/__sim/activity`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ fraction, seed }),
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as { counts: Record<string, number> }).counts;
}

async function sync(db: typeof incremental, full: boolean) {
  const results: CourseSyncResult[] = [];
  const outcome = await runSync({
    pool: db.pool,
    schema: db.schema,
    source: canvasCourseSource(client),
    courseIds: COURSES,
    full,
    onCourseDone: (result) => results.push(result),
  });
  expect(outcome.status.state).toBe("succeeded");
  return { outcome, results };
}

/** A small seeded PRNG so the days are varied yet the test replays. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_664_525) + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

describe("incremental sync", () => {
  it(`after ${DAYS} random days of activity, the incremental warehouse equals a full run's, table by table`, async () => {
    const first = await sync(incremental, false);
    expect(first.outcome.status.incrementalCourses).toBe(0); // nothing synced before: full
    await sync(reference, true);
    expect(await courseFingerprints(incremental.pool, incremental.schema)).toEqual(
      await courseFingerprints(reference.pool, reference.schema),
    );
    const random = prng(Number(process.env.EASEL_INCREMENTAL_SEED ?? 20261206));
    let changedTotal = 0;
    for (let d = 1; d <= DAYS; d++) {
      sim.advanceClock(20 * 3600 + Math.floor(random() * 8 * 3600));
      const fraction = 0.005 + random() * 0.06;
      const counts = await day(fraction, Math.floor(random() * 1_000_000));
      changedTotal += counts.submitted! + counts.graded! + counts.excused!;
      const inc = await sync(incremental, false);
      const full = await sync(reference, true);
      expect(inc.outcome.status.incrementalCourses, `day ${d}`).toBe(COURSES.length);
      expect(full.outcome.status.incrementalCourses).toBe(0);
      const fetchedIncremental = inc.results.reduce((n, r) => n + (r.fetched.submissions ?? 0), 0);
      const fetchedFull = full.results.reduce((n, r) => n + (r.fetched.submissions ?? 0), 0);
      expect(fetchedIncremental, `day ${d}: fetched only the changes`).toBeLessThan(fetchedFull / 2);
      expect(await courseFingerprints(incremental.pool, incremental.schema), `day ${d}`).toEqual(
        await courseFingerprints(reference.pool, reference.schema),
      );
    }
    expect(changedTotal).toBeGreaterThan(0);
  }, 120_000);

  it("records the high-water mark with the rows: the latest Canvas timestamp, in the ledger", async () => {
    const marks = await incremental.pool.query<{ course_id: string; high_water_mark: Date }>(
      `SELECT course_id, high_water_mark FROM "${incremental.schema}".sync_course_state WHERE kind = 'submissions' ORDER BY course_id`,
    );
    const latest = await incremental.pool.query<{ course_id: string; latest: Date }>(
      `SELECT course_id, greatest(max(submitted_at), max(graded_at)) AS latest
       FROM "${incremental.schema}".submissions GROUP BY course_id ORDER BY course_id`,
    );
    expect(marks.rows.map((r) => [Number(r.course_id), r.high_water_mark.getTime()])).toEqual(
      latest.rows.map((r) => [Number(r.course_id), r.latest.getTime()]),
    );
  });

  it("a change Canvas does not timestamp (a grade removed) waits for the full sweep, which repairs it", async () => {
    const courseId = 1;
    const graded = await incremental.pool.query<{ user_id: string; assignment_id: string }>(
      `SELECT user_id, assignment_id FROM "${incremental.schema}".submissions
       WHERE course_id = $1 AND score IS NOT NULL AND NOT excused AND submitted_at IS NOT NULL LIMIT 1`,
      [courseId],
    );
    const { user_id: userId, assignment_id: assignmentId } = graded.rows[0]!;
    const progress = await canvasEndpoints(client).grades.update(courseId, Number(assignmentId), {
      [userId]: { posted_grade: "" },
    });
    sim.advanceClock(5);
    await fetch(`${sim.url}/api/v1/progress/${progress.id}`, {
      headers: { Authorization: `Bearer ${sim.developerToken}` },
    });
    const inc = await sync(incremental, false);
    expect(inc.outcome.status.incrementalCourses).toBe(COURSES.length);
    const scoreOf = async () =>
      (
        await incremental.pool.query<{ score: number | null }>(
          `SELECT score FROM "${incremental.schema}".submissions WHERE course_id = $1 AND user_id = $2 AND assignment_id = $3`,
          [courseId, userId, assignmentId],
        )
      ).rows[0]!.score;
    expect(await scoreOf()).not.toBeNull(); // invisible to submitted_since / graded_since
    const sweep = await sync(incremental, true);
    expect(sweep.outcome.status.incrementalCourses).toBe(0);
    expect(await scoreOf()).toBeNull();
    await sync(reference, true);
    expect(await courseFingerprints(incremental.pool, incremental.schema)).toEqual(
      await courseFingerprints(reference.pool, reference.schema),
    );
  });
});
