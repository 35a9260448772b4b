/**
 * `node tooling/bench/dist/profile-gateway.js [uncached|warm|repeat] [seconds]`: the gateway-load
 * bench's course overview under the same load (autocannon, 10 connections), with the gateway's
 * process run under `--cpu-prof`; prints the profile's top self-time entries and where the
 * `.cpuprofile` was written (open it in Chrome DevTools or speedscope for the call tree).
 *
 * - uncached: `Cache-Control: no-cache`, every query reads Canvas;
 * - warm: the list cache answers every list (the gateway's response cache off);
 * - repeat: the same query again and again (the response cache).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { OVERVIEW } from "./benches/gateway-load.js";
import { forkChild, startSimProcess } from "./processes.js";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const mode = (process.argv[2] ?? "uncached") as "uncached" | "warm" | "repeat";
const seconds = Number(process.argv[3] ?? 8);
if (!["uncached", "warm", "repeat"].includes(mode) || !(seconds > 0)) {
  process.stderr.write("usage: profile-gateway.js [uncached|warm|repeat] [seconds]\n");
  process.exit(2);
}

const { default: autocannon } = await import("autocannon");
const dir = await mkdtemp(join(tmpdir(), "easel-gateway-prof-"));
const apiKey = randomBytes(24).toString("hex");
const sim = await startSimProcess({
  seed: 17,
  courses: 1,
  studentsPerCourse: 50,
  assignmentsPerCourse: 10,
  throttle: false,
});
const settings = {
  canvasBaseUrl: sim.url,
  ...(mode === "warm" ? { responseCache: false } : {}),
};
const gateway = forkChild<{ url: string }>("gateway-server", [JSON.stringify(settings)], {
  env: { ...process.env, CANVAS_ACCESS_TOKEN: sim.developerToken, EASEL_BENCH_API_KEY: apiKey },
  execArgv: ["--cpu-prof", "--cpu-prof-dir", dir],
});
try {
  const { url } = await gateway.ready;
  const headers: Record<string, string> = {
    "content-type": "application/json",
    authorization: `Bearer ${apiKey}`,
    ...(mode === "uncached" ? { "cache-control": "no-cache" } : {}),
  };
  const body = JSON.stringify({ query: OVERVIEW });
  const target = { url: `${url}/graphql`, method: "POST" as const, headers, body, connections: 10 };
  // Warm the list cache (and the JIT) first.
  await autocannon({ ...target, duration: 2 });
  const cpu = async () => {
    gateway.child.send({ type: "memory", gc: false });
    const { user, system } = ((await gateway.messages.next()) as { cpu: NodeJS.CpuUsage }).cpu;
    return user + system;
  };
  const before = await cpu();
  const result = await autocannon({ ...target, duration: seconds });
  const perAnswer = (await cpu()) - before;
  process.stdout.write(
    `${mode}: ${Math.round(result.requests.average)} req/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, non-2xx ${result.non2xx}, gateway CPU ${Math.round(perAnswer / Math.max(1, result.requests.total ?? 0))} µs per answer\n`,
  );
} finally {
  gateway.child.disconnect();
  await gateway.exited;
  await sim.close();
}

const file = (await readdir(dir)).find((name) => name.endsWith(".cpuprofile"));
if (!file) throw new Error(`no .cpuprofile in ${dir}`);
const profile = JSON.parse(await readFile(join(dir, file), "utf8")) as { nodes: ProfileNode[] };
const byFunction = new Map<string, number>();
const byPackage = new Map<string, number>();
let total = 0;
const shortUrl = (url: string) => {
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/(.*)$/.exec(url);
  if (pnpm) return pnpm[1]!;
  const ours = /\/(apps|packages)\/(.*)$/.exec(url);
  return ours ? `${ours[1]}/${ours[2]}` : url.replace(/^node:/, "node:");
};
const packageOf = (url: string) => {
  const pnpm = /node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pnpm) return pnpm[1]!;
  const ours = /\/(apps|packages)\/([^/]+)\//.exec(url);
  if (ours) return `@easel/${ours[2]}`;
  return url === "" ? "(native / gc / idle)" : url.startsWith("node:") ? "node internals" : url;
};
for (const node of profile.nodes) {
  const hits = node.hitCount ?? 0;
  if (hits === 0) continue;
  total += hits;
  const { functionName, url, lineNumber } = node.callFrame;
  const key = `${functionName || "(anonymous)"} ${shortUrl(url)}${url ? `:${lineNumber + 1}` : ""}`;
  byFunction.set(key, (byFunction.get(key) ?? 0) + hits);
  byPackage.set(packageOf(url), (byPackage.get(packageOf(url)) ?? 0) + hits);
}
const top = (map: Map<string, number>, n: number) =>
  [...map]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([key, hits]) => `${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}`)
    .join("\n");
process.stdout.write(`\nself time by function (top 25):\n${top(byFunction, 25)}\n`);
process.stdout.write(`\nself time by package:\n${top(byPackage, 15)}\n`);
process.stdout.write(`\nprofile: ${join(dir, file)}\n`);
