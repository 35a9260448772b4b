import { randomBytes } from "node:crypto";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { type ForkedChild, forkChild, startSimProcess } from "../processes.js";
import { fmtSpread, median, num } from "../stats.js";

/**
 * The gateway under load (autocannon, loopback, fixed duration): a query that needs no Canvas
 * data, the course overview query served from the gateway's list cache (its default) and with
 * `Cache-Control: no-cache` (every request reads Canvas), and the same overview served by a bare
 * HTTP server making the same Canvas calls with CanvasClient, for the gateway's overhead.
 */

interface Target {
  name: string;
  url: string;
  method: "GET" | "POST";
  body?: string;
  headers: Record<string, string>;
}

interface LoadRun {
  requestsPerSecond: number;
  /** Canvas requests the simulator answered during the run, per answered query. */
  canvasPerAnswer: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

const COURSE_ID = 1;
const STUDENTS = 50;

const FLOOR = "gateway: query needing no Canvas data (`{ __typename }`)";
const CACHED = `gateway: course overview, ${STUDENTS} students, list cache warm (the default)`;
const UNCACHED = `gateway: course overview, ${STUDENTS} students, \`Cache-Control: no-cache\` (reads Canvas every time)`;
const BARE = "bare server + CanvasClient: same overview data";

const OVERVIEW = `query CourseOverview { course(id: "${COURSE_ID}") { id name students(first: 100) { totalCount nodes {
  id name
  grades { currentScore finalScore currentGrade }
  attendance { lastAttendedAt rollCallScore }
  engagement { pageViews participations participationsLevel lastActivityAt } } } } }`;

export const gatewayLoadBench: Bench = {
  name: "gateway-load",
  issueItem: 5,
  title: "Gateway under load",
  summary:
    "Throughput and p50 / p99 latency of the gateway under load (autocannon on loopback, fixed duration) for a query that needs no Canvas data and for the course overview query, served from the gateway's list cache and read from Canvas every time, next to a bare server making the same Canvas calls with CanvasClient: the gateway's own overhead.",
  requires: ["@easel/gateway", "@easel/canvas-client", "@easel/canvas-sim"],
  timeCapMs: 240_000,
  async run(ctx) {
    const { default: autocannon } = await import("autocannon");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const duration = smoke ? 1 : 6;
    const rounds = smoke ? 1 : 3;
    const connections = 10;
    const apiKey = randomBytes(24).toString("hex");
    const sim = await startSimProcess({
      seed: 17,
      courses: 1,
      studentsPerCourse: STUDENTS,
      assignmentsPerCourse: 10,
      throttle: false,
    });
    const children: Array<ForkedChild<{ url: string }>> = [];
    const results = new Map<string, LoadRun[]>();
    const perQuery = new Map<string, number>();
    try {
      const env = { ...process.env, CANVAS_ACCESS_TOKEN: sim.developerToken, EASEL_BENCH_API_KEY: apiKey };
      const gateway = forkChild<{ url: string }>(
        "gateway-server",
        [JSON.stringify({ canvasBaseUrl: sim.url })],
        {
          env,
        },
      );
      const raw = forkChild<{ url: string }>(
        "raw-client-server",
        [JSON.stringify({ canvasBaseUrl: sim.url, courseId: COURSE_ID })],
        { env },
      );
      children.push(gateway, raw);
      const [gatewayUrl, rawUrl] = [(await gateway.ready).url, (await raw.ready).url];
      const graphql = (query: string): Target => ({
        name: "",
        url: `${gatewayUrl}/graphql`,
        method: "POST",
        body: JSON.stringify({ query }),
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      });
      const overview = graphql(OVERVIEW);
      const targets: Target[] = [
        { ...graphql("{ __typename }"), name: FLOOR },
        { ...overview, name: CACHED },
        // The same query, told to skip the cache: every request walks Canvas, as without one.
        { ...overview, headers: { ...overview.headers, "cache-control": "no-cache" }, name: UNCACHED },
        { name: BARE, url: `${rawUrl}/overview`, method: "GET", headers: {} },
      ];
      // One checked request each: no errors, and the Canvas requests it costs (the cached
      // target after one request warmed the cache).
      for (const target of targets) {
        if (target.name === CACHED) {
          await fetch(target.url, { method: target.method, body: target.body, headers: target.headers });
        }
        await sim.resetStats();
        const response = await fetch(target.url, {
          method: target.method,
          body: target.body,
          headers: target.headers,
        });
        const body = (await response.json()) as { data?: unknown; errors?: unknown[] };
        if (response.status !== 200 || body.errors?.length || !body.data) {
          throw new Error(`${target.name}: HTTP ${response.status} ${JSON.stringify(body).slice(0, 300)}`);
        }
        perQuery.set(target.name, (await sim.stats()).requests.total);
      }
      for (let round = 0; round < rounds; round++) {
        for (const target of targets) {
          // A short warm-up so JIT and keep-alive pools are in the same state for every target.
          await autocannon({ ...target, connections, duration: 1 });
          await sim.resetStats();
          const result = await autocannon({
            url: target.url,
            method: target.method,
            body: target.body,
            headers: target.headers,
            connections,
            duration,
          });
          const canvasDuringRun = (await sim.stats()).requests.total;
          const run: LoadRun = {
            requestsPerSecond: result.requests.average,
            canvasPerAnswer: canvasDuringRun / Math.max(1, result.requests.total ?? 0),
            p50: result.latency.p50,
            p99: result.latency.p99,
            non2xx: result.non2xx,
            errors: result.errors + result.timeouts,
          };
          results.set(target.name, [...(results.get(target.name) ?? []), run]);
          ctx.log(
            `${target.name}: ${num(run.requestsPerSecond)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms`,
          );
        }
      }
    } finally {
      for (const child of children) {
        if (child.child.connected) child.child.disconnect();
      }
      await Promise.all(
        children.map(async (child) => {
          const timer = setTimeout(() => child.kill(), 5000);
          await child.exited;
          clearTimeout(timer);
        }),
      );
      await sim.close();
    }
    const rows: Cell[][] = [];
    for (const [name, runs] of results) {
      const failed = runs.reduce((n, r) => n + r.non2xx + r.errors, 0);
      rows.push([
        name,
        perQuery.get(name) ?? "",
        fmtSpread(
          runs.map((r) => r.canvasPerAnswer),
          "",
        ),
        fmtSpread(
          runs.map((r) => r.requestsPerSecond),
          "req/s",
        ),
        fmtSpread(
          runs.map((r) => r.p50),
          "ms",
        ),
        fmtSpread(
          runs.map((r) => r.p99),
          "ms",
        ),
        failed === 0 ? "0" : `**${failed}**`,
      ]);
    }
    out.table({
      title: `Load on loopback: ${connections} connections, ${duration} s per run`,
      columns: [
        "target",
        "Canvas requests per query",
        "Canvas requests per answer under load",
        "throughput",
        "latency p50",
        "latency p99",
        "failed answers",
      ],
      rows,
      notes: [
        `autocannon (programmatic, in the bench process), ${connections} keep-alive connections, ${duration} s per run after a 1 s warm-up, ${rounds} rounds cycling through the targets; median (min–max) over rounds of each run's mean throughput and p50 / p99 latency.`,
        "The gateway (service mode, API key, logging off) and the bare server each run in their own process; the simulator (throttling off) in a third. All share this machine's 2 cores with autocannon, so the figures are relative.",
        '"Canvas requests per query": one checked request before the load (the cached target after one warming request); "per answer under load": Canvas requests the simulator counted during each measured run over the answers autocannon received (queries still running when a run ends add a little).',
        "The list cache holds Canvas lists, not responses: a cached overview is still parsed, validated, resolved and serialised per request; only the Canvas walks are skipped. Its TTL (60 s) runs in real time here, so the cached target re-walks Canvas about once a minute. `{ __typename }` is the gateway's floor, what any query costs before it touches Canvas.",
      ],
    });
    const summarize = (runs: LoadRun[]) => ({
      rps: median(runs.map((r) => r.requestsPerSecond)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
    });
    const gatewayOverview = results.get(UNCACHED);
    const cachedOverview = results.get(CACHED);
    const bare = results.get(BARE);
    if (gatewayOverview && cachedOverview) {
      const u = summarize(gatewayOverview);
      const c = summarize(cachedOverview);
      out.table({
        title: "Course overview: list cache warm vs reading Canvas every time",
        columns: ["figure", "cached", "uncached (no-cache)", "cached ÷ uncached"],
        rows: [
          ["throughput (median)", `${num(c.rps)} req/s`, `${num(u.rps)} req/s`, `${num(c.rps / u.rps)}×`],
          ["latency p50 (median)", `${num(c.p50)} ms`, `${num(u.p50)} ms`, `${num(c.p50 / u.p50)}×`],
          ["latency p99 (median)", `${num(c.p99)} ms`, `${num(u.p99)} ms`, `${num(c.p99 / u.p99)}×`],
        ],
        notes: [
          "The same query, the same gateway process, the same answers; the uncached requests send `Cache-Control: no-cache`, which makes the gateway walk every list in Canvas again (and store it).",
        ],
      });
      out.data.cachedVsUncached = { cached: c, uncached: u };
      out.headline(
        `Course overview (${STUDENTS} students) from the list cache: ${num(c.rps)} req/s, p50 ${num(c.p50)} ms, p99 ${num(c.p99)} ms, vs ${num(u.rps)} req/s, p50 ${num(u.p50)} ms reading Canvas every time (${num(c.rps / u.rps)}× the throughput).`,
      );
    }
    if (gatewayOverview && bare) {
      const g = summarize(gatewayOverview);
      const b = summarize(bare);
      out.table({
        title: "The gateway's overhead over the raw client calls (course overview, uncached)",
        columns: ["figure", "gateway", "bare server + CanvasClient", "gateway overhead"],
        rows: [
          [
            "throughput (median)",
            `${num(g.rps)} req/s`,
            `${num(b.rps)} req/s`,
            `${num((1 - g.rps / b.rps) * 100)}% fewer`,
          ],
          ["latency p50 (median)", `${num(g.p50)} ms`, `${num(b.p50)} ms`, `+${num(g.p50 - b.p50)} ms`],
          ["latency p99 (median)", `${num(g.p99)} ms`, `${num(b.p99)} ms`, `+${num(g.p99 - b.p99)} ms`],
        ],
        notes: [
          "Both make the same Canvas requests per answer (see the first table) and return the same fields; the difference is GraphQL parsing, validation and limits, API-key auth, resolvers and DataLoader batching, the list cache's bookkeeping, and serialisation.",
        ],
      });
      out.data.overhead = { gateway: g, bare: b };
      out.headline(
        `Course overview (${STUDENTS} students) read from Canvas every time: gateway ${num(g.rps)} req/s, p50 ${num(g.p50)} ms, p99 ${num(g.p99)} ms; the same Canvas calls without GraphQL ${num(b.rps)} req/s, p50 ${num(b.p50)} ms (gateway overhead +${num(g.p50 - b.p50)} ms at p50).`,
      );
    }
    const floor = results.get(FLOOR);
    if (floor) {
      out.headline(
        `Query needing no Canvas data: ${num(median(floor.map((r) => r.requestsPerSecond)))} req/s, p50 ${num(median(floor.map((r) => r.p50)))} ms (the gateway's floor).`,
      );
    }
    out.data.runs = Object.fromEntries(results);
    out.data.canvasRequestsPerQuery = Object.fromEntries(perQuery);
    return out.build();
  },
};
