import { CanvasClient, staticTokenProvider } from "@easel/canvas-client";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { canvasCourseSource, migrate, runSync } from "../src/index.js";
import { testDatabase } from "./helpers.js";

const DAY_MS = 86_400_000;
const db = await testDatabase();
let sim: CanvasSim;
let client: CanvasClient;

beforeAll(async () => {
  // Canvas's clock three days ahead of ours (a simulator whose days pass faster than ours).
  sim = await createCanvasSim({
    courses: 2,
    studentsPerCourse: 20,
    assignmentsPerCourse: 5,
    seed: 31,
    now: Date.now() + 3 * DAY_MS,
    freezeClock: true,
    throttle: false,
  });
  client = new CanvasClient({ baseUrl: sim.url, auth: staticTokenProvider(sim.developerToken) });
  await migrate(db.pool, db.schema);
});
afterAll(async () => {
  await client?.close();
  await sim?.close();
  await db.drop();
});

async function marks(): Promise<Array<[number, number, number]>> {
  const result = await db.pool.query<{ course_id: string; mark: Date; latest: Date }>(
    `SELECT s.course_id, s.high_water_mark AS mark, l.latest FROM "${db.schema}".sync_course_state s
     JOIN (SELECT course_id, greatest(max(submitted_at), max(graded_at)) AS latest
           FROM "${db.schema}".submissions GROUP BY course_id) l USING (course_id)
     WHERE s.kind = 'submissions' ORDER BY s.course_id`,
  );
  return result.rows.map((r) => [Number(r.course_id), r.mark.getTime(), r.latest.getTime()]);
}

describe("the high-water mark's cap", () => {
  it("reads the injected clock: with Canvas's clock ahead of ours, the mark is Canvas's latest timestamp", async () => {
    const run = (clock?: { now(): number }) =>
      runSync({
        pool: db.pool,
        schema: db.schema,
        source: canvasCourseSource(client),
        courseIds: [1, 2],
        full: true,
        clock,
      });
    // On our clock the mark is capped at when the run started: days under Canvas's latest change,
    // so every incremental run would re-read those days.
    await run();
    const capped = await marks();
    expect(capped.some(([, mark, latest]) => mark < latest)).toBe(true);
    expect(capped.every(([, mark]) => mark <= Date.now())).toBe(true);
    // On Canvas's clock (the simulator's), the mark is the latest timestamp the warehouse holds.
    const simNow = sim.stats().clock.nowMs;
    await run({ now: () => simNow });
    const exact = await marks();
    expect(exact.every(([, mark, latest]) => mark === latest)).toBe(true);
    expect(exact.some(([, mark]) => mark > Date.now())).toBe(true);
  });
});
