import { rm } from "node:fs/promises";
import { join } from "node:path";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { startSimProcess } from "../processes.js";
import { fmtSpread, median, num, ratio } from "../stats.js";

/**
 * A large export against Canvas's real leaky bucket (hwm 600, outflow 10/s, 50 up front per
 * request in flight) with a realistic cost per request, with the client's pacing on and off.
 */

const COST_PER_REQUEST = 1;

type Mode = "on" | "off";

interface Run {
  mode: Mode;
  seconds: number;
  rows: number;
  requests: number;
  throttled: number;
  clientThrottled: number;
  retries: number;
}

export const throttleBench: Bench = {
  name: "throttle",
  issueItem: 4,
  title: "Throttle: pacing on vs off",
  summary:
    "Time to export a large submissions list through Canvas's leaky bucket (the simulator's real numbers) with the client's pacing on and off, and how many requests Canvas refused (429).",
  requires: ["@easel/canvas-client", "@easel/export", "@easel/canvas-sim"],
  timeCapMs: 360_000,
  async run(ctx) {
    const { CanvasClient } = await import("@easel/canvas-client");
    const { exportCourses } = await import("@easel/export");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const layout = smoke
      ? { courses: 4, students: 50, assignments: 20 }
      : { courses: 10, students: 100, assignments: 80 };
    const rounds = smoke ? 1 : 3;
    const throttle = {
      hwm: 600,
      maximum: 800,
      outflowPerSecond: 10,
      upFrontCost: 50,
      costPerRequest: COST_PER_REQUEST,
    };
    const sim = await startSimProcess({
      seed: 13,
      courses: layout.courses,
      studentsPerCourse: layout.students,
      assignmentsPerCourse: layout.assignments,
      throttle,
      throttleStatus: 429,
    });
    const runs: Run[] = [];
    try {
      const courseIds = Array.from({ length: layout.courses }, (_, i) => i + 1);
      for (let r = 0; r < rounds; r++) {
        const order: Mode[] = r % 2 === 0 ? ["on", "off"] : ["off", "on"];
        for (const mode of order) {
          // A new token is a new, full bucket: every run starts from the same state.
          const minted = await fetch(`${sim.url}/__sim/tokens`, { method: "POST" });
          const { token } = (await minted.json()) as { token: string };
          const client = new CanvasClient({
            baseUrl: sim.url,
            auth: token,
            maxConcurrency: 8,
            ...(mode === "off" ? { pacing: false as const } : {}),
            retry: { rateLimitRetries: 100 },
          });
          const file = join(ctx.tmpDir, `throttle-${mode}-${r}.ndjson`);
          await sim.resetStats();
          const started = performance.now();
          const summary = await exportCourses({
            client,
            kind: "submissions",
            courseIds,
            format: "ndjson",
            output: file,
            concurrency: 4,
          });
          const seconds = (performance.now() - started) / 1000;
          const stats = await sim.stats();
          const clientStats = client.stats();
          await client.close();
          await rm(file, { force: true });
          runs.push({
            mode,
            seconds,
            rows: summary.rows,
            requests: stats.requests.total,
            throttled: (stats.requests.byStatus["429"] ?? 0) + (stats.requests.byStatus["403"] ?? 0),
            clientThrottled: clientStats.throttled,
            retries: clientStats.retries,
          });
          ctx.log(
            `pacing ${mode} run ${r + 1}: ${summary.rows} rows in ${num(seconds)} s, ${stats.requests.total} requests, ${runs.at(-1)!.throttled} throttled`,
          );
          if (ctx.remainingMs() < 60_000) break;
        }
        if (ctx.remainingMs() < 60_000) {
          out.note(`Stopped after ${r + 1} round(s): the bench's time cap was near.`);
          break;
        }
      }
    } finally {
      await sim.close();
    }
    const of = (mode: Mode) => runs.filter((run) => run.mode === mode);
    const rows: Cell[][] = (["on", "off"] as const).map((mode) => {
      const list = of(mode);
      return [
        `pacing ${mode}`,
        fmtSpread(
          list.map((run) => run.seconds),
          "s",
        ),
        fmtSpread(list.map((run) => run.requests)),
        fmtSpread(list.map((run) => run.throttled)),
        num(list[0]?.rows ?? 0),
      ];
    });
    const on = of("on");
    const off = of("off");
    const totalRows = layout.courses * layout.students * layout.assignments;
    out.table({
      title: `Exporting ${num(totalRows)} submissions (${Math.ceil(totalRows / 100)} pages) through the leaky bucket`,
      columns: ["client", "wall time", "requests sent", "throttled answers (429)", "rows"],
      rows,
      notes: [
        `Simulator bucket: hwm 600, maximum 800, outflow 10 units/s, 50 units up front per request in flight, cost ${COST_PER_REQUEST} per request (Canvas charges the CPU + database seconds a request used; about a second is typical of a 100-row submissions page). Each run uses a new token (a full bucket).`,
        `Easel's exportCourses, 4 courses at a time, client maxConcurrency 8; pacing off still retries throttled answers with jittered backoff (rateLimitRetries raised to 100 so no run gives up). ${rounds} run(s) per mode, alternating which goes first; median (min–max).`,
        `Sustained, the bucket allows about ${num(10 / COST_PER_REQUEST)} requests/s at this cost; the first few hundred requests ride on the initial 600 units.`,
      ],
    });
    if (on.length > 0 && off.length > 0) {
      const onThrottled = Math.max(...on.map((run) => run.throttled));
      out.goal(
        "With pacing on, Canvas refuses no request",
        onThrottled === 0,
        `pacing on: ${on.map((run) => run.throttled).join(", ")} throttled answers per run; pacing off: ${off.map((run) => run.throttled).join(", ")}.`,
      );
      const speed = median(off.map((run) => run.seconds)) / median(on.map((run) => run.seconds));
      out.goal(
        "Pacing on is no slower than pacing off",
        speed >= 1,
        `median ${num(median(on.map((run) => run.seconds)))} s with pacing vs ${num(median(off.map((run) => run.seconds)))} s without (pacing on is ${ratio(median(off.map((run) => run.seconds)), median(on.map((run) => run.seconds)))} as fast).`,
      );
    }
    out.data.runs = runs;
    out.data.throttle = throttle;
    return out.build();
  },
};
