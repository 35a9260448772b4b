import { randomBytes } from "node:crypto";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { type ForkedChild, forkChild, startSimProcess } from "../processes.js";
import { fmtSpread, median, num } from "../stats.js";

/**
 * The gateway under load (autocannon, loopback, fixed duration), side by side in one run: a query
 * that needs no Canvas data (the floor), a bare HTTP server making the overview's Canvas calls with
 * CanvasClient, the gateway reading Canvas every time (`Cache-Control: no-cache`), the gateway with
 * its list cache warm (a second gateway process with the response cache off), and the same query
 * repeated (the response cache). Then the memory a 1,000-student overview holds while in flight.
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
const CACHED = `gateway: course overview, ${STUDENTS} students, list cache warm (response cache off)`;
const UNCACHED = `gateway: course overview, ${STUDENTS} students, \`Cache-Control: no-cache\` (reads Canvas every time)`;
const REPEAT = `gateway: course overview, ${STUDENTS} students, the same query again (response cache)`;
const BARE = "bare server + CanvasClient: same overview data";

/** The memory probe: concurrent overviews of a course this big, under a fixed Canvas delay. */
const BIG_STUDENTS = 1000;
const BIG_CONCURRENCY = 10;
const BIG_DELAY_MS = 100;

export const OVERVIEW = overviewOf(100);

/** The overview query asking for `first` students. */
function overviewOf(first: number): string {
  return `query CourseOverview { course(id: "${COURSE_ID}") { id name students(first: ${first}) { totalCount nodes {
  id name
  grades { currentScore finalScore currentGrade }
  attendance { lastAttendedAt rollCallScore }
  engagement { pageViews participations participationsLevel lastActivityAt } } } } }`;
}

type Memory = NodeJS.MemoryUsage;

/** Asks a gateway child for its memory (after a full GC when it runs with --expose-gc). */
async function memoryOf(child: ForkedChild<{ url: string }>, gc: boolean): Promise<Memory> {
  child.child.send({ type: "memory", gc });
  return ((await child.messages.next()) as { memory: Memory }).memory;
}

/**
 * Memory per in-flight query: `concurrency` uncached overviews of a `students`-student course at
 * once, every Canvas request delayed by the simulator (`slow` fault), against a gateway of its own
 * (run with --expose-gc); the peak heap (sampled every 20 ms) over the idle heap after a full GC,
 * divided by the queries.
 */
async function measureInFlightMemory(apiKey: string, students: number, concurrency: number) {
  const sim = await startSimProcess({
    seed: 23,
    courses: 1,
    studentsPerCourse: students,
    assignmentsPerCourse: 10,
    throttle: false,
    faults: [{ fault: "slow", latencyMs: BIG_DELAY_MS }],
  });
  const gateway = forkChild<{ url: string }>(
    "gateway-server",
    // Room for every query's lists at once: the client's concurrency would otherwise queue them.
    [JSON.stringify({ canvasBaseUrl: sim.url, maxConcurrency: 4 * concurrency + 4 })],
    {
      env: { ...process.env, CANVAS_ACCESS_TOKEN: sim.developerToken, EASEL_BENCH_API_KEY: apiKey },
      execArgv: ["--expose-gc"],
    },
  );
  try {
    const { url } = await gateway.ready;
    const ask = async () => {
      const response = await fetch(`${url}/graphql`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${apiKey}`,
          "cache-control": "no-cache",
        },
        body: JSON.stringify({ query: overviewOf(students) }),
      });
      const body = (await response.json()) as { errors?: unknown[] };
      if (response.status !== 200 || body.errors) throw new Error(`memory probe: HTTP ${response.status}`);
    };
    await ask();
    const baseline = await memoryOf(gateway, true);
    let peak = baseline;
    let running = true;
    const sampler = (async () => {
      while (running) {
        const now = await memoryOf(gateway, false);
        if (now.heapUsed > peak.heapUsed) peak = now;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    })();
    const started = performance.now();
    try {
      await Promise.all(Array.from({ length: concurrency }, ask));
    } finally {
      running = false;
      await sampler;
    }
    return { baseline, peak, queries: concurrency, ms: performance.now() - started };
  } finally {
    if (gateway.child.connected) gateway.child.disconnect();
    const timer = setTimeout(() => gateway.kill(), 5000);
    await gateway.exited;
    clearTimeout(timer);
    await sim.close();
  }
}

export const gatewayLoadBench: Bench = {
  name: "gateway-load",
  issueItem: 5,
  title: "Gateway under load",
  summary:
    "Throughput and p50 / p99 latency of the gateway under load (autocannon on loopback, fixed duration) for a query that needs no Canvas data and for the course overview query read from Canvas every time, from the list cache, and repeated (response cache), next to a bare server making the same Canvas calls with CanvasClient; and the memory a 1,000-student overview holds in flight.",
  requires: ["@easel/gateway", "@easel/canvas-client", "@easel/canvas-sim"],
  timeCapMs: 360_000,
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
    let memory: { baseline: Memory; peak: Memory; queries: number; ms: number } | undefined;
    try {
      const env = { ...process.env, CANVAS_ACCESS_TOKEN: sim.developerToken, EASEL_BENCH_API_KEY: apiKey };
      const gateway = forkChild<{ url: string }>(
        "gateway-server",
        [JSON.stringify({ canvasBaseUrl: sim.url })],
        { env },
      );
      // The list cache alone: the same gateway with its response cache off.
      const listOnly = forkChild<{ url: string }>(
        "gateway-server",
        [JSON.stringify({ canvasBaseUrl: sim.url, responseCache: false })],
        { env },
      );
      const raw = forkChild<{ url: string }>(
        "raw-client-server",
        [JSON.stringify({ canvasBaseUrl: sim.url, courseId: COURSE_ID })],
        { env },
      );
      children.push(gateway, listOnly, raw);
      const [gatewayUrl, listOnlyUrl, rawUrl] = [
        (await gateway.ready).url,
        (await listOnly.ready).url,
        (await raw.ready).url,
      ];
      const graphql = (query: string, base = gatewayUrl): Target => ({
        name: "",
        url: `${base}/graphql`,
        method: "POST",
        body: JSON.stringify({ query }),
        headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
      });
      const listCached = graphql(OVERVIEW, listOnlyUrl);
      const targets: Target[] = [
        { ...graphql("{ __typename }", listOnlyUrl), name: FLOOR },
        { name: BARE, url: `${rawUrl}/overview`, method: "GET", headers: {} },
        // The same query, told to skip the caches: every request walks Canvas, as without them.
        { ...listCached, headers: { ...listCached.headers, "cache-control": "no-cache" }, name: UNCACHED },
        { ...listCached, name: CACHED },
        // Alone on its gateway: its lists are those its own misses read (see the response cache).
        { ...graphql(OVERVIEW), name: REPEAT },
      ];
      // One checked request each: no errors, and the Canvas requests it costs (the cached
      // targets after one request warmed the caches).
      for (const target of targets) {
        if (target.name === CACHED || target.name === REPEAT) {
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
      memory = await measureInFlightMemory(apiKey, smoke ? 200 : BIG_STUDENTS, smoke ? 3 : BIG_CONCURRENCY);
      ctx.log(
        `memory: ${num((memory.peak.heapUsed - memory.baseline.heapUsed) / memory.queries / 1048576)} MiB heap per in-flight query`,
      );
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
        "The gateway (service mode, API key, logging off) answering the repeated query, a second gateway with its response cache off (the floor, uncached and list-cache-warm targets) and the bare server each run in their own process; the simulator (throttling off) in another. All share this machine's 2 cores with autocannon, so the figures are relative: compare rows of one run.",
        '"Canvas requests per query": one checked request before the load (the cached targets after one warming request); "per answer under load": Canvas requests the simulator counted during each measured run over the answers autocannon received (queries still running when a run ends add a little).',
        "The list cache holds Canvas lists, not responses: a list-cached overview is still parsed, validated, resolved and serialised per request; only the Canvas walks are skipped. The response cache holds the answer's bytes per credential and document: a repeat skips GraphQL altogether. Their TTL (60 s) runs in real time here, so the cached targets re-walk Canvas about once a minute. `{ __typename }` is the gateway's floor, what any query costs in Yoga before it touches Canvas.",
      ],
    });
    const summarize = (runs: LoadRun[]) => ({
      rps: median(runs.map((r) => r.requestsPerSecond)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
    });
    const get = (name: string) => {
      const runs = results.get(name);
      return runs ? summarize(runs) : undefined;
    };
    const [bare, uncached, warm, repeat, floor] = [BARE, UNCACHED, CACHED, REPEAT, FLOOR].map(get);
    if (bare && uncached && warm && repeat && floor) {
      const row = (name: string, figures: { rps: number; p50: number; p99: number }): Cell[] => [
        name,
        `${num(figures.rps)} req/s`,
        `${num(figures.rps / bare.rps)}×`,
        `${num(figures.p50)} ms`,
        `${figures.p50 >= bare.p50 ? "+" : ""}${num(figures.p50 - bare.p50)} ms`,
        `${num(figures.p99)} ms`,
        `${figures.p99 >= bare.p99 ? "+" : ""}${num(figures.p99 - bare.p99)} ms`,
      ];
      out.table({
        title: `Course overview (${STUDENTS} students) side by side, against the bare server (medians over rounds)`,
        columns: ["target", "throughput", "÷ bare", "p50", "p50 − bare", "p99", "p99 − bare"],
        rows: [
          row("floor: `{ __typename }`", floor),
          row("bare server + CanvasClient", bare),
          row("gateway, uncached (`no-cache`)", uncached),
          row("gateway, list cache warm", warm),
          row("gateway, same query again (response cache)", repeat),
        ],
        notes: [
          "The uncached gateway and the bare server make the same Canvas requests per answer; the warm list cache makes none, and neither does a repeat (answered from stored bytes before GraphQL runs).",
        ],
      });
      out.goal(
        "uncached overview: p50 ≤ bare server's + 5 ms",
        uncached.p50 <= bare.p50 + 5,
        `gateway p50 ${num(uncached.p50)} ms vs bare ${num(bare.p50)} ms (${uncached.p50 >= bare.p50 ? "+" : ""}${num(uncached.p50 - bare.p50)} ms)`,
      );
      out.goal(
        "uncached overview: p99 ≤ bare server's + 10 ms",
        uncached.p99 <= bare.p99 + 10,
        `gateway p99 ${num(uncached.p99)} ms vs bare ${num(bare.p99)} ms (${uncached.p99 >= bare.p99 ? "+" : ""}${num(uncached.p99 - bare.p99)} ms)`,
      );
      out.goal(
        "list cache warm: throughput ≥ 3× the bare server's",
        warm.rps >= 3 * bare.rps,
        `${num(warm.rps)} req/s vs bare ${num(bare.rps)} req/s (${num(warm.rps / bare.rps)}×)`,
      );
      out.goal(
        "same query repeated within the TTL (response cache): throughput ≥ 10× the bare server's",
        repeat.rps >= 10 * bare.rps,
        `${num(repeat.rps)} req/s vs bare ${num(bare.rps)} req/s (${num(repeat.rps / bare.rps)}×)`,
      );
      out.data.sideBySide = { bare, uncached, warm, repeat, floor };
      out.headline(
        `Course overview (${STUDENTS} students): bare server ${num(bare.rps)} req/s p50 ${num(bare.p50)} ms; gateway uncached ${num(uncached.rps)} req/s p50 ${num(uncached.p50)} ms p99 ${num(uncached.p99)} ms; list cache warm ${num(warm.rps)} req/s (${num(warm.rps / bare.rps)}×); repeated (response cache) ${num(repeat.rps)} req/s (${num(repeat.rps / bare.rps)}×).`,
      );
    }
    if (memory) {
      const perQuery = (field: "heapUsed") =>
        (memory.peak[field] - memory.baseline[field]) / memory.queries / 1048576;
      out.table({
        title: `Memory per in-flight ${smoke ? 200 : BIG_STUDENTS}-student overview`,
        columns: ["figure", "idle (after GC)", "peak in flight", "per in-flight query"],
        rows: [
          [
            "heap used",
            `${num(memory.baseline.heapUsed / 1048576)} MiB`,
            `${num(memory.peak.heapUsed / 1048576)} MiB`,
            `${num(perQuery("heapUsed"))} MiB`,
          ],
          [
            "RSS (at the heap's peak)",
            `${num(memory.baseline.rss / 1048576)} MiB`,
            `${num(memory.peak.rss / 1048576)} MiB`,
            // RSS keeps pages the warm-up query used after GC: no per-query figure.
            "—",
          ],
        ],
        notes: [
          `${memory.queries} uncached overview queries (\`students(first: ${smoke ? 200 : BIG_STUDENTS})\`, all fields of the load test) sent at once to a gateway of their own (run with --expose-gc, Canvas client concurrency raised so none queue), every Canvas request delayed ${BIG_DELAY_MS} ms by the simulator's \`slow\` fault; the process's memory sampled every 20 ms over IPC; the peak heap over the idle heap after a full GC, divided by the queries (an upper bound: garbage not yet collected counts). They took ${num(memory.ms)} ms together.`,
        ],
      });
      out.data.memory = memory;
      out.headline(
        `Memory per in-flight ${smoke ? 200 : BIG_STUDENTS}-student overview: ${num(perQuery("heapUsed"))} MiB of heap (${memory.queries} at once).`,
      );
    }
    out.data.runs = Object.fromEntries(results);
    out.data.canvasRequestsPerQuery = Object.fromEntries(perQuery);
    return out.build();
  },
};
