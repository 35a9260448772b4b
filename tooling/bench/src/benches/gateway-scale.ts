import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { availableParallelism } from "node:os";
import { type Bench, type Cell, OutputBuilder } from "../harness.js";
import { type ForkedChild, forkChild, type RemoteSim, startSimProcess } from "../processes.js";
import { fmtSpread, median, num } from "../stats.js";

/**
 * Many replicas, one gateway: 1 and 3 gateway processes behind a small round-robin proxy, with
 * the shared cache (`EASEL_GATEWAY_CACHE`, Redis) and, for contrast, 3 without it, under the same
 * load. What must hold: the Canvas requests of 3 shared replicas equal those of 1 (a cold start
 * under concurrent load included: single flight across replicas). Throughput is what this
 * machine's cores allow; it is reported as measured.
 */

interface Config {
  name: string;
  replicas: number;
  shared: boolean;
}

interface ScaleRun {
  /** Canvas requests during the cold run (empty cache, concurrent load). */
  canvasCold: number;
  /** Canvas requests during the measured (warm) run. */
  canvasWarm: number;
  answers: number;
  requestsPerSecond: number;
  p50: number;
  p99: number;
  failed: number;
  /** Of `failed`: non-2xx answers, connection errors, timeouts (cold and warm runs together). */
  failures: { non2xx: number; errors: number; timeouts: number };
}

const REDIS = { host: "127.0.0.1", port: 6379 };
const CONFIGS: Config[] = [
  { name: "1 replica, shared cache", replicas: 1, shared: true },
  { name: "3 replicas, shared cache", replicas: 3, shared: true },
  { name: "3 replicas, no shared cache", replicas: 3, shared: false },
];

const overview = (
  courseId: number,
) => `query Overview { course(id: "${courseId}") { id name students(first: 100) {
  totalCount nodes { id name grades { currentScore finalScore } attendance { lastAttendedAt }
  engagement { pageViews participations } } } } }`;
const QUERIES = [
  overview(1),
  overview(2),
  overview(3),
  "{ courses(first: 10) { totalCount nodes { id name } } }",
];

function redisAnswers(): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(REDIS.port, REDIS.host);
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

async function stopAll(children: Array<ForkedChild<unknown>>): Promise<void> {
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
}

export const gatewayScaleBench: Bench = {
  name: "gateway-scale",
  issueItem: 9,
  title: "Many replicas, one gateway",
  summary:
    "1 vs 3 gateway replicas behind a round-robin proxy, sharing the list cache through Redis (EASEL_GATEWAY_CACHE), and 3 without it, under the same load from a cold cache: the Canvas requests each setup makes, and throughput and p50 / p99 latency for this machine's cores.",
  requires: ["@easel/gateway", "@easel/canvas-sim"],
  timeCapMs: 420_000,
  async run(ctx) {
    if (!(await redisAnswers())) {
      throw new Error(
        `gateway-scale needs Redis on ${REDIS.host}:${REDIS.port} (the replicas' shared cache).`,
      );
    }
    const { default: autocannon } = await import("autocannon");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const rounds = smoke ? 1 : 3;
    // The first processes of a run pay for cold JIT and page cache: a round that is not recorded.
    const warmUpRounds = smoke ? 0 : 1;
    const warmSeconds = smoke ? 1 : 6;
    const connections = 12;
    const coldQueries = connections * QUERIES.length * 2;
    const students = smoke ? 20 : 100;
    const apiKey = randomBytes(24).toString("hex");
    const fernetKey = (await import("@easel/fernet")).generateKey();
    const sim: RemoteSim = await startSimProcess({
      seed: 23,
      courses: 3,
      studentsPerCourse: students,
      assignmentsPerCourse: 10,
      throttle: false,
    });
    const runs = new Map<string, ScaleRun[]>();
    const cores = availableParallelism();
    try {
      for (let round = -warmUpRounds; round < rounds; round++) {
        for (const config of round < 0 ? CONFIGS.slice(0, 1) : CONFIGS) {
          if (ctx.remainingMs() < 60_000) {
            out.note(`Stopped after ${round} full rounds: the time cap was near.`);
            break;
          }
          const prefix = `easel-bench:scale:${process.pid}:${round + warmUpRounds}:${config.replicas}${config.shared ? "s" : "n"}:`;
          const cache = config.shared
            ? `redis://${REDIS.host}:${REDIS.port}/0?prefix=${encodeURIComponent(prefix)}`
            : undefined;
          const env = {
            ...process.env,
            CANVAS_ACCESS_TOKEN: sim.developerToken,
            EASEL_BENCH_API_KEY: apiKey,
            EASEL_FERNET_KEY: fernetKey,
          };
          const children: Array<ForkedChild<{ url: string }>> = [];
          try {
            for (let i = 0; i < config.replicas; i++) {
              children.push(
                forkChild<{ url: string }>(
                  "gateway-server",
                  [JSON.stringify({ canvasBaseUrl: sim.url, cache })],
                  {
                    env,
                  },
                ),
              );
            }
            const upstreams = await Promise.all(children.map(async (c) => (await c.ready).url));
            const proxy = forkChild<{ url: string }>("round-robin-proxy", [JSON.stringify({ upstreams })]);
            children.push(proxy);
            const url = `${(await proxy.ready).url}/graphql`;
            const requests = QUERIES.map((query) => ({
              method: "POST" as const,
              body: JSON.stringify({ query }),
            }));
            const load = (amount: { duration: number } | { amount: number }) =>
              autocannon({
                url,
                method: "POST",
                headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
                requests,
                connections,
                ...amount,
              });
            // Cold: every connection starts at once on empty caches. A fixed number of queries,
            // all answered: a run cut off mid-walk would leave Canvas requests without a stored list.
            await sim.resetStats();
            const cold = await load({ amount: coldQueries });
            const canvasCold = (await sim.stats()).requests.total;
            await sim.resetStats();
            const warm = await load({ duration: warmSeconds });
            const canvasWarm = (await sim.stats()).requests.total;
            const run: ScaleRun = {
              canvasCold,
              canvasWarm,
              answers: warm.requests.total ?? 0,
              requestsPerSecond: warm.requests.average,
              p50: warm.latency.p50,
              p99: warm.latency.p99,
              failed: cold.non2xx + cold.errors + cold.timeouts + warm.non2xx + warm.errors + warm.timeouts,
              failures: {
                non2xx: cold.non2xx + warm.non2xx,
                errors: cold.errors + warm.errors,
                timeouts: cold.timeouts + warm.timeouts,
              },
            };
            if (round >= 0) runs.set(config.name, [...(runs.get(config.name) ?? []), run]);
            ctx.log(
              `${round < 0 ? "warm-up" : `round ${round + 1}`}, ${config.name}: Canvas ${canvasCold} cold + ${canvasWarm} warm; ${num(run.requestsPerSecond)} req/s, p50 ${run.p50} ms, p99 ${run.p99} ms; failed ${JSON.stringify(run.failures)}`,
            );
          } finally {
            await stopAll(children);
          }
        }
      }
    } finally {
      await sim.close();
    }

    const rows: Cell[][] = [];
    for (const config of CONFIGS) {
      const measured = runs.get(config.name) ?? [];
      if (measured.length === 0) continue;
      const failed = measured.reduce((n, r) => n + r.failed, 0);
      rows.push([
        config.name,
        fmtSpread(measured.map((r) => r.canvasCold)),
        fmtSpread(measured.map((r) => r.canvasWarm)),
        fmtSpread(
          measured.map((r) => r.requestsPerSecond),
          "req/s",
        ),
        fmtSpread(
          measured.map((r) => r.p50),
          "ms",
        ),
        fmtSpread(
          measured.map((r) => r.p99),
          "ms",
        ),
        failed === 0 ? "0" : `**${failed}**`,
      ]);
    }
    out.table({
      title: `Round robin over replicas: ${connections} connections, ${coldQueries} cold queries + ${warmSeconds} s warm per run, ${cores} cores`,
      columns: [
        "setup",
        "Canvas requests, cold queries",
        "Canvas requests, warm run",
        "throughput (warm)",
        "latency p50 (warm)",
        "latency p99 (warm)",
        "failed answers",
      ],
      rows,
      notes: [
        `Each run starts fresh gateway processes (service mode, logging off) behind a node:http round-robin proxy (its own process; no stickiness), on an empty cache (a new Redis key prefix per run). Load: autocannon in the bench process, ${connections} keep-alive connections cycling through 4 queries (the overview of each of 3 courses with ${students} students, and the course list). The cold run sends ${coldQueries} queries (every connection at once, on empty caches) and waits for every answer; the warm run (fixed duration) follows it. Median (min–max) over ${rounds} round(s).`,
        `This machine has ${cores} cores for the simulator, Redis, the proxy, autocannon and the replicas together: 3 replicas cannot run 3× as fast on it, and each extra process costs scheduling. The throughput column is what it measured, not what 3 replicas do on 3 machines.`,
        'With the shared cache, the values live in Redis (Fernet-encrypted JSON); each replica keeps decoded copies of the current generation, so a hit costs one Redis round trip (the generation counters) per list, where one process alone reads its memory. "No shared cache" is the same replicas with EASEL_GATEWAY_CACHE unset: each walks Canvas for itself.',
      ],
    });

    const canvas = (name: string) => median((runs.get(name) ?? []).map((r) => r.canvasCold + r.canvasWarm));
    const one = runs.get(CONFIGS[0]!.name) ?? [];
    const three = runs.get(CONFIGS[1]!.name) ?? [];
    if (one.length > 0 && three.length > 0) {
      const equalEveryRound = one.every(
        (r, i) =>
          three[i] === undefined ||
          r.canvasCold + r.canvasWarm === three[i]!.canvasCold + three[i]!.canvasWarm,
      );
      out.goal(
        "3 replicas sharing the cache make the same Canvas requests as 1 under the same load",
        equalEveryRound,
        `Canvas requests per run (cold + warm), median: 1 replica ${num(canvas(CONFIGS[0]!.name))}, 3 replicas ${num(canvas(CONFIGS[1]!.name))}, 3 without the shared cache ${num(canvas(CONFIGS[2]!.name))}; ${equalEveryRound ? "equal in every round" : "**not equal in every round**"}.`,
      );
      const rps = (list: ScaleRun[]) => median(list.map((r) => r.requestsPerSecond));
      out.headline(
        `Same load, ${cores} cores: 1 replica ${num(rps(one))} req/s (p99 ${num(median(one.map((r) => r.p99)))} ms), 3 replicas ${num(rps(three))} req/s (p99 ${num(median(three.map((r) => r.p99)))} ms), both with ${num(canvas(CONFIGS[0]!.name))} vs ${num(canvas(CONFIGS[1]!.name))} Canvas requests; without the shared cache 3 replicas make ${num(canvas(CONFIGS[2]!.name))}.`,
      );
    }
    out.data.cores = cores;
    out.data.runs = Object.fromEntries(runs);
    return out.build();
  },
};
