import { randomBytes } from "node:crypto";
import { CANVAS_COST_MODEL } from "../canvas-cost.js";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { startSimProcess } from "../processes.js";
import { median, num } from "../stats.js";

/**
 * `easel sync` incremental vs full on the same Canvas state: after a complete run and a day in which
 * 2% of the submissions changed, what each run costs Canvas (requests, rows served, throttle cost
 * when the simulator reports it) and how long it takes, side by side.
 */

const FRACTION = 0.02;
/** The day's last changes, made two hours after the rest. */
const LATE_FRACTION = 0.001;
const LATE_SECONDS = 7_200;
const DATABASE_URL = process.env.EASEL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

type Mode = "incremental" | "full";

interface Run {
  round: number;
  mode: Mode;
  seconds: number;
  requests: number;
  rows: number;
  cost: number;
  changes: number;
  /** Requests per Canvas route (where the requests go). */
  byRoute: Record<string, number>;
}

/** Canvas-like cost units on a bucket no run fills (see canvas-cost.ts). */
const COST_MODEL = CANVAS_COST_MODEL;

export const syncIncrementalBench: Bench = {
  name: "sync-incremental",
  issueItem: 7,
  title: "Sync: incremental vs full after a day of activity",
  summary:
    "Requests, rows Canvas serves and wall time of `easel sync` after 2% of the submissions changed, incremental (the changes since the high-water mark) next to a full run of the same Canvas state, into the real PostgreSQL.",
  requires: ["@easel/canvas-client", "@easel/canvas-sim", "@easel/export", "@easel/sync"],
  timeCapMs: 600_000,
  async run(ctx) {
    const { CanvasClient } = await import("@easel/canvas-client");
    const { canvasCourseSource, migrate, openDatabase, runSync } = await import("@easel/sync");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const layout = smoke
      ? { courses: 3, students: 50, assignments: 40 }
      : { courses: 10, students: 200, assignments: 100 };
    const rounds = smoke ? 1 : 3;
    const courseIds = Array.from({ length: layout.courses }, (_, i) => i + 1);
    const sim = await startSimProcess({
      seed: 17,
      courses: layout.courses,
      studentsPerCourse: layout.students,
      assignmentsPerCourse: layout.assignments,
      freezeClock: true,
      throttle: COST_MODEL,
    });
    const pool = await openDatabase(DATABASE_URL, { max: 8 });
    const schema = `easel_bench_${randomBytes(4).toString("hex")}`;
    const runs: Run[] = [];
    const control = async (path: string, body: unknown) => {
      const response = await fetch(`${sim.url}/__sim/${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`simulator ${path}: ${response.status}`);
      return response.json() as Promise<Record<string, unknown>>;
    };
    const syncOnce = async (mode: Mode, round: number): Promise<Run> => {
      const client = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken, maxConcurrency: 8 });
      // Canvas's clock caps the high-water mark: the simulator's, whose days pass in a second.
      const canvasNow = (await sim.stats()).clock.nowMs;
      await sim.resetStats();
      const started = performance.now();
      const outcome = await runSync({
        pool,
        schema,
        source: canvasCourseSource(client),
        courseIds,
        concurrency: 4,
        full: mode === "full",
        resume: false,
        clock: { now: () => canvasNow },
      });
      const seconds = (performance.now() - started) / 1000;
      const stats = await sim.stats();
      await client.close();
      if (outcome.status.state !== "succeeded") throw new Error(`${mode} run ${outcome.status.state}`);
      const wanted = mode === "incremental" ? layout.courses : 0;
      if (outcome.status.incrementalCourses !== wanted) {
        throw new Error(
          `${mode} run: ${outcome.status.incrementalCourses} incremental courses, wanted ${wanted}`,
        );
      }
      const run: Run = {
        round,
        mode,
        seconds,
        requests: stats.requests.total,
        rows: stats.rows.total,
        cost: stats.cost.total,
        changes: outcome.status.changes,
        byRoute: stats.requests.byRoute,
      };
      ctx.log(
        `round ${round} ${mode}: ${num(seconds)} s, ${run.requests} requests, ${num(run.rows)} rows, ${num(run.cost)} cost units, ${run.changes} changes; ${JSON.stringify(run.byRoute)}`,
      );
      return run;
    };
    try {
      await migrate(pool, schema);
      await syncOnce("full", 0); // the complete run an incremental one follows
      for (let round = 1; round <= rounds; round++) {
        // A day's changes in two slices, most at midday and the rest two hours later: the simulator
        // stamps a slice's changes at one instant, and the runs' one-hour overlap under the latest
        // change must re-read the evening's changes, not the whole day's (as with changes spread over
        // a real day).
        await control("clock", { seconds: 86_400 - LATE_SECONDS });
        const day = (await control("activity", { fraction: FRACTION - LATE_FRACTION, seed: round })) as {
          counts: Record<string, number>;
        };
        await control("clock", { seconds: LATE_SECONDS });
        const late = (await control("activity", { fraction: LATE_FRACTION, seed: 1000 + round })) as {
          counts: Record<string, number>;
        };
        ctx.log(
          `round ${round}: a day of activity ${JSON.stringify(day.counts)} + ${JSON.stringify(late.counts)}`,
        );
        // Both over the same Canvas state, alternating which goes first: the first reader after a day
        // of activity pays the simulator's recomputed caches (course grades, needs-grading counts).
        // A full run first re-bases the mark on today's changes, which the overlap still covers.
        const order: Mode[] = round % 2 === 1 ? ["incremental", "full"] : ["full", "incremental"];
        for (const mode of order) runs.push(await syncOnce(mode, round));
        if (ctx.remainingMs() < 120_000 && round < rounds) {
          out.note(`Stopped after ${round} round(s): the bench's time cap was near.`);
          break;
        }
      }
    } finally {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => undefined);
      await pool.end();
      await sim.close();
    }

    const of = (mode: Mode) => runs.filter((run) => run.mode === mode);
    const med = (mode: Mode, pick: (run: Run) => number) => median(of(mode).map(pick));
    const rows: Cell[][] = (["incremental", "full"] as const).map((mode) => [
      mode,
      num(med(mode, (r) => r.requests)),
      num(med(mode, (r) => r.rows)),
      num(med(mode, (r) => r.cost)),
      `${num(med(mode, (r) => r.seconds))} s`,
    ]);
    const share = (pick: (run: Run) => number) => med("incremental", pick) / med("full", pick);
    rows.push([
      "incremental / full",
      `${num(share((r) => r.requests) * 100)} %`,
      `${num(share((r) => r.rows) * 100)} %`,
      `${num(share((r) => r.cost) * 100)} %`,
      `${num(share((r) => r.seconds) * 100)} %`,
    ]);
    const submissions = layout.courses * layout.students * layout.assignments;
    out.table({
      title: `easel sync of ${layout.courses} courses (${num(submissions)} submissions) after ${FRACTION * 100}% of them changed`,
      columns: ["run", "Canvas requests", "rows served", "throttle cost units", "wall time"],
      rows,
      notes: [
        `Each round: the simulated clock moves a day and \`POST /__sim/activity\` changes ${FRACTION * 100}% of every course's submissions (submitted, graded, a few excused; ${num((FRACTION - LATE_FRACTION) * 100)}% at once and ${LATE_FRACTION * 100}% two hours later, so the one-hour overlap re-reads the day's last changes, not all of them) and drops and enrolls a few students; then \`runSync\` incremental and \`runSync({ full: true })\` over the same Canvas state (alternating which goes first), both into the same PostgreSQL schema, 4 courses at a time, client maxConcurrency 8. ${rounds} round(s); median.`,
        "Requests, rows served and throttle cost units: what the simulator's `/__sim/stats` counted and charged (`requests.total`, `rows.total`, `cost.total`); a grouped submissions page's rows are its students and their submissions. Cost model: `costPerRequest` 0.05 + `costPerRow` 0.002 units (Canvas charges CPU + DB seconds), on a bucket no run fills.",
        "The full run reads each course's submissions in the form `submissionsPlan` chooses (grouped pages of students, at most 1,000 submissions a page). The incremental run reads the cheap lists (course, assignments, enrollments, grades, attendance, analytics) whole and the submissions through submitted_since and graded_since (one hour of overlap under the mark).",
      ],
    });
    if (of("incremental").length > 0 && of("full").length > 0) {
      const rowShare = share((r) => r.rows);
      out.goal(
        "Incremental costs Canvas ≤ 10% of the full run's rows",
        rowShare <= 0.1,
        `${num(med("incremental", (r) => r.rows))} vs ${num(med("full", (r) => r.rows))} rows (${num(rowShare * 100)} %).`,
      );
      const costShare = share((r) => r.cost);
      out.goal(
        "Incremental costs Canvas ≤ 10% of the full run's cost units",
        costShare <= 0.1,
        `${num(med("incremental", (r) => r.cost))} vs ${num(med("full", (r) => r.cost))} units (${num(costShare * 100)} %).`,
      );
      const pairs = runs
        .filter((r) => r.mode === "incremental")
        .map((inc) => {
          const full = runs.find((r) => r.mode === "full" && r.round === inc.round)!;
          return [inc.requests, full.requests] as const;
        });
      out.goal(
        "Incremental never sends more requests than the full run",
        pairs.every(([inc, full]) => inc <= full),
        `per round (incremental/full): ${pairs.map(([inc, full]) => `${inc}/${full}`).join(", ")}.`,
      );
      const timeShare = share((r) => r.seconds);
      out.goal(
        "Incremental takes ≤ 15% of the full run's wall time",
        timeShare <= 0.15,
        `median ${num(med("incremental", (r) => r.seconds))} s vs ${num(med("full", (r) => r.seconds))} s (${num(timeShare * 100)} %).`,
      );
    }
    out.data.layout = layout;
    out.data.runs = runs;
    return out.build();
  },
};
