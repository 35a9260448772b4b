import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import type { StormDone, StormParentMessage, StormWorkerConfig } from "../children/storm-worker.js";
import { type Bench, type BenchContext, type Cell, OutputBuilder } from "../harness.js";
import { type ForkedChild, forkChild, type RemoteSim, startSimProcess } from "../processes.js";
import { median, num, percentiles } from "../stats.js";

/**
 * Processes x concurrent callers hit an expired OAuth token at the same moment. The simulator
 * counts the refresh grants (goal: one per expiry, whatever the store and the crowd), and each
 * caller's latency is compared with the same calls once the token is fresh.
 */

interface StoreTarget {
  name: string;
  uri: string;
  env: Record<string, string>;
  cleanup: () => Promise<void>;
}

async function storeTargets(ctx: BenchContext, fernetKey: string): Promise<Array<StoreTarget | string>> {
  const dir = join(ctx.tmpDir, "storm-file");
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const targets: Array<StoreTarget | string> = [
    { name: "file", uri: `file:${dir}/`, env: {}, cleanup: async () => undefined },
  ];
  const prefix = `easel-bench-storm-${process.pid}-${randomBytes(4).toString("hex")}:`;
  const redisUri = `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`;
  try {
    const { createTokenStore } = await import("@easel/store-redis");
    const probe = await createTokenStore(redisUri, { fernetKeys: fernetKey });
    await probe.close();
    targets.push({ name: "redis", uri: redisUri, env: {}, cleanup: async () => undefined });
  } catch (error) {
    targets.push(
      `redis: skipped, Redis not reachable on 127.0.0.1:6379 (${(error as { code?: string }).code})`,
    );
  }
  const { startFakeVault } = await import("@easel/store-vault/testing");
  const vault = await startFakeVault();
  targets.push({
    name: "vault (fake)",
    uri: `vault+${vault.url}/secret/easel-storm`,
    env: { VAULT_TOKEN: vault.rootToken },
    cleanup: () => vault.close(),
  });
  return targets;
}

async function control(sim: RemoteSim, method: string, path: string): Promise<unknown> {
  const response = await fetch(`${sim.url}/__sim/${path}`, { method });
  if (!response.ok) throw new Error(`simulator control ${path}: ${response.status}`);
  return response.json();
}

interface CellResult {
  grants: number[];
  storm: number[];
  baseline: number[];
  failures: string[];
  refreshedBy: number[];
}

async function runCell(
  sim: RemoteSim,
  store: TokenStore,
  target: StoreTarget,
  processes: number,
  concurrency: number,
  rounds: number,
  fernetKey: string,
): Promise<CellResult> {
  const key = `storm-${processes}x${concurrency}-${randomBytes(3).toString("hex")}`;
  const minted = (await control(sim, "POST", "oauth/tokens")) as {
    access_token: string;
    refresh_token: string;
    expires_in: number;
    user: TokenRecord["user"];
  };
  await store.set(key, {
    access_token: minted.access_token,
    token_type: "Bearer",
    refresh_token: minted.refresh_token,
    expires_in: minted.expires_in,
    expires_at: Date.now() / 1000 + minted.expires_in,
    user: minted.user,
  });
  const config: StormWorkerConfig = {
    simUrl: sim.url,
    clientId: sim.clientId,
    storeUri: target.uri,
    key,
    concurrency,
  };
  const env = {
    ...process.env,
    ...target.env,
    EASEL_FERNET_KEY: fernetKey,
    CANVAS_CLIENT_SECRET: sim.clientSecret,
  };
  const workers: Array<ForkedChild<{ type: "ready" }>> = [];
  const result: CellResult = { grants: [], storm: [], baseline: [], failures: [], refreshedBy: [] };
  try {
    for (let p = 0; p < processes; p++)
      workers.push(forkChild("storm-worker", [JSON.stringify(config)], { env }));
    await Promise.all(workers.map((w) => w.ready));
    for (let round = 1; round <= rounds; round++) {
      // An hour passes: the simulator's token expires there, and the workers' clocks agree.
      await control(sim, "POST", "clock?seconds=3600");
      await sim.resetStats();
      const go: StormParentMessage = { type: "go", round, clockOffsetMs: round * 3600_000 };
      for (const worker of workers) worker.child.send(go);
      const done = (await Promise.all(workers.map((w) => w.messages.next()))) as StormDone[];
      const stats = await sim.stats();
      result.grants.push(stats.tokenGrants.refresh_token);
      for (const d of done) {
        result.storm.push(...d.storm);
        result.baseline.push(...d.baseline);
        result.failures.push(...d.failures);
      }
      result.refreshedBy.push(done.filter((d) => (d.manager.refreshes ?? 0) >= round).length);
    }
  } finally {
    for (const worker of workers) {
      if (worker.child.connected) worker.child.send({ type: "exit" } satisfies StormParentMessage);
    }
    await Promise.all(
      workers.map(async (w) => {
        const timer = setTimeout(() => w.kill(), 5000);
        await w.exited;
        clearTimeout(timer);
      }),
    );
    await store.delete(key).catch(() => false);
  }
  return result;
}

export const refreshStormBench: Bench = {
  name: "refresh-storm",
  issueItem: 2,
  title: "Refresh storm",
  summary:
    "Processes × concurrent callers (each process an @easel/auth TokenManager over a shared store) hit an expired OAuth token at once; the simulator counts refresh grants, and each call's latency is compared with the same calls on the fresh token.",
  requires: ["@easel/auth", "@easel/config", "@easel/canvas-sim", "@easel/store-file", "@easel/store-vault"],
  timeCapMs: 360_000,
  async run(ctx) {
    const { generateKey } = await import("@easel/fernet");
    const { openTokenStore } = await import("@easel/config");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const crowds: Array<[number, number]> = smoke
      ? [
          [1, 1],
          [2, 4],
        ]
      : [
          [1, 1],
          [2, 16],
          [4, 32],
          [8, 64],
        ];
    const rounds = smoke ? 2 : 5;
    const fernetKey = generateKey();
    // Throttling off: 512 calls on one token would otherwise be refused by the leaky bucket
    // (50 units up front each), which is the throttle bench's subject, not this one's.
    const sim = await startSimProcess({ seed: 11, courses: 1, studentsPerCourse: 10, throttle: false });
    const rows: Cell[][] = [];
    const raw: Record<string, unknown> = {};
    let everyExpiryOnce = true;
    const misses: string[] = [];
    try {
      for (const target of await storeTargets(ctx, fernetKey)) {
        if (typeof target === "string") {
          rows.push([target, "", "", "", "", "", ""]);
          continue;
        }
        const store = await openTokenStore(target.uri, { fernetKeys: fernetKey, env: target.env });
        try {
          for (const [processes, concurrency] of crowds) {
            if (ctx.remainingMs() < 30_000) {
              rows.push([
                target.name,
                `${processes} × ${concurrency}`,
                "not run: time cap near",
                "",
                "",
                "",
                "",
              ]);
              continue;
            }
            const cell = await runCell(sim, store, target, processes, concurrency, rounds, fernetKey);
            const storm = percentiles(cell.storm);
            const base = median(cell.baseline);
            const once = cell.grants.every((g) => g === 1);
            if (!once) {
              everyExpiryOnce = false;
              misses.push(
                `${target.name} ${processes}×${concurrency}: grants per expiry ${cell.grants.join(", ")}`,
              );
            }
            rows.push([
              target.name,
              `${processes} × ${concurrency}`,
              cell.grants.join(", "),
              `${num(storm.p50)} / ${num(storm.p99)} ms`,
              `${num(base)} ms`,
              `${num(storm.p50 - base)} / ${num(storm.p99 - base)} ms`,
              cell.failures.length === 0
                ? "0"
                : `**${cell.failures.length}** (${[...new Set(cell.failures)].join(", ")})`,
            ]);
            raw[`${target.name} ${processes}x${concurrency}`] = cell;
            ctx.log(
              `${target.name} ${processes}x${concurrency}: grants ${cell.grants.join(",")}, storm p50/p99 ${num(storm.p50)}/${num(storm.p99)} ms, baseline ${num(base)} ms`,
            );
          }
        } finally {
          await store.close();
          await target.cleanup();
        }
      }
    } finally {
      await sim.close();
    }
    out.table({
      title: "One expired token, many callers",
      columns: [
        "store",
        "processes × concurrency",
        `refresh grants per expiry (${rounds} expiries)`,
        "call latency in the storm, p50 / p99",
        "same calls, fresh token (median)",
        "added latency, p50 / p99",
        "failed calls",
      ],
      rows,
      notes: [
        `Each expiry: the simulator's clock and the workers' clocks jump an hour, then every worker fires its calls at once (getAccessToken, then GET /api/v1/users/self). ${rounds} expiries per row; latencies pooled over all calls of all expiries (n = processes × concurrency × ${rounds}).`,
        "Added latency = storm call latency minus the median of the same number of concurrent calls made right after with the fresh token, in the same processes.",
        "Grants are the simulator's count of refresh_token grants per expiry (goal: 1). Simulator throttling is off; the simulator runs in its own process.",
      ],
    });
    out.goal(
      "Exactly one refresh grant per expiry, for every store and crowd",
      everyExpiryOnce,
      everyExpiryOnce
        ? `Every expiry of every row was refreshed once (${rows.length} rows × ${rounds} expiries).`
        : `More than one grant: ${misses.join("; ")}.`,
    );
    const worst = Object.entries(raw as Record<string, CellResult>).map(([name, cell]) => ({
      name,
      added: percentiles(cell.storm).p99 - median(cell.baseline),
    }));
    if (worst.length > 0) {
      const top = worst.reduce((a, b) => (b.added > a.added ? b : a));
      out.headline(`Largest added latency at p99: ${num(top.added)} ms (${top.name}).`);
    }
    out.data.cells = raw;
    return out.build();
  },
};
