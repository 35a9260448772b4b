import { randomBytes } from "node:crypto";
import type { CanvasClient } from "@easel/canvas-client";
import type { ExportClient } from "@easel/export";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { startSimProcess } from "../processes.js";
import { median, num } from "../stats.js";

/**
 * `easel sync` incremental vs full on the same Canvas state: after a complete run and a day in which
 * 2% of the submissions changed, what each run costs Canvas (requests, rows served, throttle cost
 * when the simulator reports it) and how long it takes, side by side.
 */

const FRACTION = 0.02;
const DATABASE_URL = process.env.EASEL_BENCH_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

type Mode = "incremental" | "full";

interface Run {
  round: number;
  mode: Mode;
  seconds: number;
  requests: number;
  rows: number;
  cost: number | null;
  changes: number;
}

/** Counts the rows Canvas serves (list items and single objects) through the client. */
function countingTransport(client: CanvasClient): { transport: ExportClient; served: () => number } {
  let rows = 0;
  const paginate = async function* (...args: Parameters<CanvasClient["paginate"]>) {
    for await (const item of client.paginate(...args)) {
      rows++;
      yield item;
    }
  } as CanvasClient["paginate"];
  const request = (async (...args: Parameters<CanvasClient["request"]>) => {
    const body: unknown = await client.request(...args);
    rows += Array.isArray(body) ? body.length : 1;
    return body;
  }) as CanvasClient["request"];
  const transport: ExportClient = {
    paginate,
    request,
    resolve: client.resolve.bind(client),
    options: client.options,
    stats: client.stats.bind(client),
  };
  return { transport, served: () => rows };
}

/** The throttle cost units a stats answer reports, once the simulator reports them. */
function costUnits(stats: unknown): number | null {
  const candidates = [
    (stats as { cost?: { total?: unknown } }).cost?.total,
    (stats as { throttle?: { cost?: unknown } }).throttle?.cost,
    (stats as { costUnits?: unknown }).costUnits,
  ];
  const found = candidates.find((value) => typeof value === "number");
  return typeof found === "number" ? found : null;
}

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
      const { transport, served } = countingTransport(client);
      await sim.resetStats();
      const started = performance.now();
      const outcome = await runSync({
        pool,
        schema,
        source: canvasCourseSource(transport),
        courseIds,
        concurrency: 4,
        full: mode === "full",
        resume: false,
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
        rows: served(),
        cost: costUnits(stats),
        changes: outcome.status.changes,
      };
      ctx.log(
        `round ${round} ${mode}: ${num(seconds)} s, ${run.requests} requests, ${num(run.rows)} rows, ${run.changes} changes`,
      );
      return run;
    };
    try {
      await migrate(pool, schema);
      await syncOnce("full", 0); // the complete run an incremental one follows
      for (let round = 1; round <= rounds; round++) {
        await control("clock", { seconds: 86_400 });
        const day = (await control("activity", { fraction: FRACTION, seed: round })) as {
          counts: Record<string, number>;
        };
        ctx.log(`round ${round}: a day of activity ${JSON.stringify(day.counts)}`);
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
    const withCost = runs.every((run) => run.cost !== null);
    const rows: Cell[][] = (["incremental", "full"] as const).map((mode) => [
      mode,
      num(med(mode, (r) => r.requests)),
      num(med(mode, (r) => r.rows)),
      withCost ? num(med(mode, (r) => r.cost ?? 0)) : "not reported",
      `${num(med(mode, (r) => r.seconds))} s`,
    ]);
    const share = (pick: (run: Run) => number) => med("incremental", pick) / med("full", pick);
    rows.push([
      "incremental / full",
      `${num(share((r) => r.requests) * 100)} %`,
      `${num(share((r) => r.rows) * 100)} %`,
      withCost ? `${num(share((r) => r.cost ?? 0) * 100)} %` : "",
      `${num(share((r) => r.seconds) * 100)} %`,
    ]);
    const submissions = layout.courses * layout.students * layout.assignments;
    out.table({
      title: `easel sync of ${layout.courses} courses (${num(submissions)} submissions) after ${FRACTION * 100}% of them changed`,
      columns: ["run", "Canvas requests", "rows served", "throttle cost units", "wall time"],
      rows,
      notes: [
        `Each round: the simulated clock moves a day, \`POST /__sim/activity {"fraction": ${FRACTION}}\` changes ${FRACTION * 100}% of every course's submissions (submitted, graded, a few excused) and drops and enrolls a few students; then \`runSync\` incremental and \`runSync({ full: true })\` over the same Canvas state (alternating which goes first), both into the same PostgreSQL schema, 4 courses at a time, client maxConcurrency 8. ${rounds} round(s); median.`,
        "Rows served: every list item and single object the client received. Requests: the simulator's count. The incremental run reads the cheap lists (course, assignments, enrollments, grades, attendance, analytics) whole and the submissions through submitted_since and graded_since (one hour of overlap under the mark).",
        withCost
          ? "Throttle cost units: what the simulator's /__sim/stats reports it charged."
          : "Throttle cost units: the simulator's /__sim/stats does not report them yet.",
      ],
    });
    if (of("incremental").length > 0 && of("full").length > 0) {
      const rowShare = share((r) => r.rows);
      out.goal(
        "Incremental costs Canvas ≤ 10% of the full run's rows",
        rowShare <= 0.1,
        `${num(med("incremental", (r) => r.rows))} vs ${num(med("full", (r) => r.rows))} rows (${num(rowShare * 100)} %).`,
      );
      if (withCost) {
        const costShare = share((r) => r.cost ?? 0);
        out.goal(
          "Incremental costs Canvas ≤ 10% of the full run's cost units",
          costShare <= 0.1,
          `${num(costShare * 100)} % of the full run's units.`,
        );
      }
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
