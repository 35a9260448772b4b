#!/usr/bin/env node
// Walks every submission of one simulated course (default 5,000 students x 200 assignments =
// 1,000,000 rows) through CanvasClient.paginate, with the simulator in a CHILD process, and prints
// the client's peak RSS. Run after `pnpm build`:
//   node scripts/walk-1m.mjs [students=5000] [assignments=200]
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import { CanvasClient } from "../dist/index.js";

const students = Number(process.argv[2] ?? 5000);
const assignments = Number(process.argv[3] ?? 200);
const childScript = fileURLToPath(new URL("../test/helpers/sim-child.mjs", import.meta.url));
const child = fork(
  childScript,
  [
    JSON.stringify({ seed: 3, courses: 1, studentsPerCourse: students, assignmentsPerCourse: assignments }),
    "1",
  ],
  { stdio: ["ignore", "inherit", "inherit", "ipc"] },
);
const sim = await new Promise((resolve, reject) => {
  child.once("message", resolve);
  child.once("exit", (code) => reject(new Error(`simulator exited (${code})`)));
});

const client = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
const { submissionIdFirst: first, submissionIdLast: last, submissions: expected } = sim.summary;
const seen = new Uint8Array(last - first + 1);
let rows = 0;
let duplicates = 0;
global.gc?.();
const baseline = process.memoryUsage().rss;
let peak = baseline;
const sampler = setInterval(() => {
  peak = Math.max(peak, process.memoryUsage().rss);
}, 50);
const started = performance.now();
for await (const s of client.submissions.forStudents(1, { studentIds: "all" })) {
  const i = s.id - first;
  if (seen[i]) duplicates++;
  seen[i] = 1;
  rows++;
}
const seconds = (performance.now() - started) / 1000;
clearInterval(sampler);
peak = Math.max(peak, process.memoryUsage().rss);
const missing = seen.reduce((n, v) => n + (v ? 0 : 1), 0);
const mb = (n) => `${(n / 1048576).toFixed(1)} MB`;
console.log(
  JSON.stringify({
    rows,
    expected,
    duplicates,
    missing,
    seconds: Number(seconds.toFixed(1)),
    rowsPerSecond: Math.round(rows / seconds),
    rssBaseline: mb(baseline),
    rssPeak: mb(peak),
    rssGrowth: mb(peak - baseline),
    stats: client.stats(),
  }),
);
await client.close();
child.kill("SIGTERM");
process.exitCode = rows === expected && duplicates === 0 && missing === 0 ? 0 : 1;
