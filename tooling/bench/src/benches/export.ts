import { rm } from "node:fs/promises";
import { join } from "node:path";
import { CANVAS_COST_MODEL } from "../canvas-cost.js";
import type { ExportJob, ExportReport } from "../children/export-job.js";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { forkChild, startSimProcess } from "../processes.js";
import { fmtSpread, mb, median, num, ratio } from "../stats.js";

/**
 * Wall time, peak RSS and Canvas work of a submissions export over the simulator: Easel's export
 * next to a raw walk of exactly the pages Easel walks (undici, parse and drop: the floor) and to the
 * same export written with @kth/canvas-api as its README shows (the flat form), each in a fresh
 * process, rotating which goes first.
 */

interface Size {
  label: string;
  courses: number;
  students: number;
  assignments: number;
  runs: number;
}

type Client = "easel" | "raw" | "kth";

const CLIENTS: readonly Client[] = ["easel", "raw", "kth"];

const CHILD: Record<Client, string> = { easel: "export-easel", raw: "export-raw", kth: "export-kth" };

interface Run extends ExportReport {
  client: Client;
  canvasRequests: number;
  /** Requests per route (method + Canvas template), from `/__sim/stats`. */
  requestsByRoute: Record<string, number>;
  /** Throttle cost units Canvas charged and rows it served, from `/__sim/stats`. */
  canvasCost: number;
  canvasRows: number;
  processMs: number;
}

const CONCURRENCY = 4;

/** Easel's wall time may be at most this many times the raw walk's. */
const WALL_OVER_RAW = 1.2;
/** Easel's peak RSS may be at most this much above the raw walk's (MB). */
const RSS_OVER_RAW_MB = 15;
/** Easel's peak RSS at the largest size may differ from the smallest by at most this fraction. */
const RSS_FLAT = 0.05;

export const exportBench: Bench = {
  name: "export",
  issueItem: 3,
  title: "Export: Easel vs a raw walk vs @kth/canvas-api",
  summary:
    "Wall time, peak RSS, Canvas requests and cost units to export every submission of 10 courses as NDJSON (10k, 100k, 1M rows) with Easel's export, next to a raw walk of exactly the pages Easel walks with undici (each page parsed and dropped: the floor) and to the same export written with @kth/canvas-api as its README shows (the flat form), at the same concurrency; the simulator runs in its own process.",
  requires: ["@easel/export", "@easel/canvas-client", "@easel/canvas-sim"],
  // Three contenders, each in fresh processes: the 1M runs alone take minutes on a busy machine.
  timeCapMs: 600_000,
  async run(ctx) {
    const { submissionsPlan } = await import("@easel/canvas-client");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const sizes: Size[] = smoke
      ? [{ label: "2k", courses: 4, students: 25, assignments: 20, runs: 1 }]
      : [
          { label: "10k", courses: 10, students: 50, assignments: 20, runs: 3 },
          { label: "100k", courses: 10, students: 200, assignments: 50, runs: 3 },
          { label: "1M", courses: 10, students: 1000, assignments: 100, runs: 2 },
        ];
    const rows: Cell[][] = [];
    const raw: Record<string, Run[]> = {};
    const peak: Record<Client, Record<string, number>> = { easel: {}, raw: {}, kth: {} };
    const slower: string[] = [];
    const comparisons: string[] = [];
    const overRaw: string[] = [];
    const wallVsRaw: string[] = [];
    const rssOverRaw: string[] = [];
    const rssVsRaw: string[] = [];
    const requestsOff: string[] = [];
    let previousRunMs = 0;
    let previousRows = 0;
    for (const size of sizes) {
      const total = size.courses * size.students * size.assignments;
      // A run at this size is predicted from the last size's pace; skip what cannot finish.
      const predictedMs =
        previousRows > 0 ? (previousRunMs / previousRows) * total * CLIENTS.length * size.runs : 0;
      if (predictedMs > ctx.remainingMs() - 30_000) {
        rows.push([
          size.label,
          "not run: would not finish within the bench's time cap",
          "",
          "",
          "",
          "",
          "",
          "",
          "",
        ]);
        out.note(
          `${size.label} was not run: predicted ${Math.round(predictedMs / 1000)} s left too little time.`,
        );
        continue;
      }
      // What Easel's export (and so the raw walk) reads per course: all the simulator's assignments are published.
      const plan = submissionsPlan({ assignments: size.assignments, students: size.students });
      const form = plan.form === "grouped" ? `grouped, ${plan.perPage} students a page` : "flat";
      const sim = await startSimProcess({
        seed: 5,
        courses: size.courses,
        studentsPerCourse: size.students,
        assignmentsPerCourse: size.assignments,
        throttle: CANVAS_COST_MODEL,
      });
      const runs: Run[] = [];
      try {
        const courseIds = Array.from({ length: size.courses }, (_, i) => i + 1);
        for (let r = 0; r < size.runs; r++) {
          // Rotate which contender goes first, so drift on a shared machine hits all alike.
          const order = CLIENTS.map((_, i) => CLIENTS[(i + r) % CLIENTS.length]!);
          for (const client of order) {
            const file = join(ctx.tmpDir, `${client}-${size.label}-${r}.ndjson`);
            const job: ExportJob = { baseUrl: sim.url, courseIds, out: file, concurrency: CONCURRENCY };
            await sim.resetStats();
            const started = performance.now();
            const child = forkChild<ExportReport>(CHILD[client], [JSON.stringify(job)], {
              env: { ...process.env, CANVAS_ACCESS_TOKEN: sim.developerToken },
            });
            const report = await child.ready;
            await child.exited;
            const processMs = performance.now() - started;
            const stats = await sim.stats();
            runs.push({
              ...report,
              client,
              canvasRequests: stats.requests.total,
              requestsByRoute: stats.requests.byRoute,
              canvasCost: stats.cost.total,
              canvasRows: stats.rows.total,
              processMs,
            });
            await rm(file, { force: true });
            await rm(`${file}.checkpoint.json`, { force: true });
            ctx.log(
              `${size.label} ${client} run ${r + 1}: ${report.rows} rows in ${Math.round(report.elapsedMs)} ms, peak RSS ${num(mb(report.maxRssBytes))} MB, CPU ${Math.round(report.cpuMs)} ms, ${stats.requests.total} requests, ${num(stats.cost.total)} cost units, ${stats.rows.total} rows served; ${JSON.stringify(stats.requests.byRoute)}`,
            );
          }
        }
      } finally {
        await sim.close();
      }
      raw[size.label] = runs;
      const of = (client: Client) => runs.filter((run) => run.client === client);
      const easel = of("easel");
      const walk = of("raw");
      const kth = of("kth");
      const rowsMatch = runs.every((run) => run.rows === total);
      if (!rowsMatch) {
        throw new Error(
          `${size.label}: expected ${total} rows, got ${runs.map((r) => `${r.client}=${r.rows}`).join(", ")}`,
        );
      }
      const time = (list: Run[]) => list.map((run) => run.elapsedMs / 1000);
      const rss = (list: Run[]) => list.map((run) => mb(run.maxRssBytes));
      const cpu = (list: Run[]) => list.map((run) => run.cpuMs / 1000);
      for (const client of CLIENTS) peak[client][size.label] = median(rss(of(client)));
      const easelFaster = median(time(easel)) < median(time(kth));
      if (!easelFaster) slower.push(size.label);
      const overlap =
        Math.min(...time(easel)) <= Math.max(...time(kth)) &&
        Math.min(...time(kth)) <= Math.max(...time(easel));
      comparisons.push(
        `${size.label}: ${num(median(time(easel)))} s vs ${num(median(time(kth)))} s${size.runs > 1 ? (overlap ? " (ranges overlap)" : " (ranges apart)") : ""}`,
      );
      const wallRatio = median(time(easel)) / median(time(walk));
      wallVsRaw.push(`${size.label}: ${num(wallRatio)}×`);
      if (wallRatio > WALL_OVER_RAW) overRaw.push(size.label);
      const rssGap = median(rss(easel)) - median(rss(walk));
      rssVsRaw.push(`${size.label}: ${rssGap >= 0 ? "+" : ""}${num(rssGap)} MB`);
      if (rssGap > RSS_OVER_RAW_MB) rssOverRaw.push(size.label);
      const distinct = (list: Run[], of: (run: Run) => number | string) =>
        [...new Set(list.map(of))].join("/");
      const requests = (list: Run[]) => distinct(list, (run) => run.canvasRequests);
      const cost = (list: Run[]) => distinct(list, (run) => num(run.canvasCost));
      const served = (list: Run[]) => distinct(list, (run) => num(run.canvasRows));
      // The same pages: the same requests on every route, in every run.
      const routes = (list: Run[]) =>
        distinct(list, (run) => JSON.stringify(Object.entries(run.requestsByRoute).sort()));
      if (requests(easel) !== requests(walk) || routes(easel) !== routes(walk)) {
        requestsOff.push(size.label);
      }
      rows.push([
        `${size.label} (${size.courses} × ${num(size.students)} × ${size.assignments}, ${form})`,
        `${fmtSpread(time(easel), "s")} / ${fmtSpread(time(walk), "s")} / ${fmtSpread(time(kth), "s")}`,
        `${num(wallRatio)}× / ${ratio(median(time(kth)), median(time(easel)))}`,
        `${fmtSpread(rss(easel), "MB")} / ${fmtSpread(rss(walk), "MB")} / ${fmtSpread(rss(kth), "MB")}`,
        `${rssGap >= 0 ? "+" : ""}${num(rssGap)} MB`,
        `${fmtSpread(cpu(easel), "s")} / ${fmtSpread(cpu(walk), "s")} / ${fmtSpread(cpu(kth), "s")}`,
        `${requests(easel)} / ${requests(walk)} / ${requests(kth)}`,
        `${cost(easel)} / ${cost(walk)} / ${cost(kth)}`,
        `${served(easel)} / ${served(walk)} / ${served(kth)}`,
      ]);
      previousRunMs = median(runs.map((r) => r.processMs));
      previousRows = total;
      if (size.runs === 1 && !smoke) {
        out.note(
          `${size.label} ran once per contender (no repeats) to keep the bench within a few minutes: no spread.`,
        );
      }
    }
    out.table({
      title: "Submissions export to NDJSON (10 courses, 4 at a time)",
      columns: [
        "rows (courses × students × assignments, pages)",
        "wall time (Easel / raw walk / kth)",
        "Easel ÷ raw walk / Easel speed-up over kth",
        "peak RSS (Easel / raw walk / kth)",
        "Easel RSS over raw walk",
        "client CPU time (Easel / raw walk / kth)",
        "Canvas requests (Easel / raw walk / kth)",
        "Canvas cost units (Easel / raw walk / kth)",
        "rows Canvas served (Easel / raw walk / kth)",
      ],
      rows,
      notes: [
        'Each run is a fresh Node process: Easel\'s `exportCourses` (what `easel export submissions --format ndjson --out FILE --concurrency 4` runs, client maxConcurrency 8 as in the CLI); the raw walk, undici\'s `request` on exactly the pages Easel walks: per course the assignments list (`per_page=100`, counting the published ones), then `students/submissions` with the query `submissionsPlan` (@easel/canvas-client) gives for that count (`grouped=true` with `per_page` = min(100, 1,000 ÷ assignments) students, or the flat form for one assignment), following `Link: rel="next"`, each body read as text, `JSON.parse`d and dropped, no output; or a script using `new CanvasApi(url, token)` and `listItems("courses/:id/students/submissions", { student_ids: ["all"], per_page: 100 })` as a user would write it from its README (the flat form: 100 submissions a request, so 10× Easel\'s submissions requests at 1M) with its default rate limiter, the same columns, a write stream that respects backpressure. All 4 courses at a time.',
        "Wall time: from the first request to the file complete (the last page parsed, for the raw walk), measured inside the process (start-up excluded). Peak RSS: process.resourceUsage().maxRSS of that process; CPU time: its user + system time, start-up included. Median (min–max) over runs; runs rotate which contender goes first.",
        "The simulator runs in its own process with a Canvas-like cost model (0.05 units a request + 0.002 a row served) on a bucket no run can fill, so nobody is throttled (@kth/canvas-api's limiter only recognises the legacy 403 throttle). Requests, cost units and rows served are what `/__sim/stats` counted (`requests.total`, `cost.total`, `rows.total`; a grouped page's rows are its students and their submissions); Easel's and the raw walk's requests are also compared route by route. Every contender's row count (for the raw walk: submissions counted on its pages) is checked against the simulator's ground truth.",
        "On this 2-core machine the simulator needs one core to itself: once a client keeps it busy, wall time says as much about the simulator as about the client, and the CPU column shows what each client itself spends per export.",
      ],
    });
    const labels = Object.keys(peak.easel);
    const first = labels[0];
    const last = labels[labels.length - 1];
    if (first && last && first !== last) {
      const growth = peak.easel[last]! / peak.easel[first]!;
      out.goal(
        `Flat memory: Easel's peak RSS at ${last} within 1.5× of ${first}`,
        growth <= 1.5,
        `Easel ${num(peak.easel[first]!)} MB at ${first} → ${num(peak.easel[last]!)} MB at ${last} (${num(growth)}×); raw walk ${num(peak.raw[first]!)} → ${num(peak.raw[last]!)} MB; @kth/canvas-api ${num(peak.kth[first]!)} → ${num(peak.kth[last]!)} MB.`,
      );
      out.goal(
        `Flat memory at the floor: Easel's peak RSS at ${last} within ${RSS_FLAT * 100}% of ${first}`,
        Math.abs(growth - 1) <= RSS_FLAT,
        `Easel ${num(peak.easel[first]!)} MB at ${first} → ${num(peak.easel[last]!)} MB at ${last} (${growth >= 1 ? "+" : ""}${num((growth - 1) * 100)}%).`,
      );
    }
    out.goal(
      `Easel's wall time at most ${WALL_OVER_RAW}× a raw walk of the same pages, at every size`,
      overRaw.length === 0,
      `Easel ÷ raw walk, median wall time: ${wallVsRaw.join("; ")}${overRaw.length > 0 ? ` (over at ${overRaw.join(", ")})` : ""}.`,
    );
    out.goal(
      `Easel's peak RSS at most the raw walk's + ${RSS_OVER_RAW_MB} MB, at every size`,
      rssOverRaw.length === 0,
      `Easel's median peak RSS over the raw walk's: ${rssVsRaw.join("; ")}${rssOverRaw.length > 0 ? ` (over at ${rssOverRaw.join(", ")})` : ""}.`,
    );
    out.goal(
      "Requests at the floor: Easel makes exactly the raw walk's requests, at every size",
      requestsOff.length === 0,
      requestsOff.length === 0
        ? "Easel's Canvas requests equal the raw walk's, route by route (the assignments pages and the planned submissions pages), at every size."
        : `Easel's requests differ from the raw walk's at ${requestsOff.join(", ")}.`,
    );
    out.goal(
      "Faster than @kth/canvas-api at every size",
      slower.length === 0,
      slower.length === 0
        ? `Easel's median wall time is below @kth/canvas-api's at every size (Easel vs kth: ${comparisons.join("; ")}).`
        : `Easel is not faster at ${slower.join(", ")} (Easel vs kth median wall time: ${comparisons.join("; ")}).`,
    );
    out.data.runs = raw;
    return out.build();
  },
};
