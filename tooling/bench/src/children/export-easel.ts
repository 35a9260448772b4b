/**
 * Easel's export in a process of its own (what `easel export submissions --format ndjson
 * --out FILE --concurrency N` runs): argv[2] is ExportJob as JSON, the token comes in
 * CANVAS_ACCESS_TOKEN. Reports an ExportReport over IPC, peak RSS from process.resourceUsage().
 */
import { CanvasClient } from "@easel/canvas-client";
import { exportCourses } from "@easel/export";
import type { ExportJob, ExportReport } from "./export-job.js";

const job = JSON.parse(process.argv[2]!) as ExportJob;
// The CLI builds its client with maxConcurrency 8 (apps/cli/src/canvas-options.ts).
const client = new CanvasClient({
  baseUrl: job.baseUrl,
  auth: process.env.CANVAS_ACCESS_TOKEN!,
  maxConcurrency: 8,
});
const started = performance.now();
const summary = await exportCourses({
  client,
  kind: "submissions",
  courseIds: job.courseIds,
  format: "ndjson",
  output: job.out,
  concurrency: job.concurrency,
});
const elapsedMs = performance.now() - started;
await client.close();
const usage = process.resourceUsage();
const report: ExportReport = {
  rows: summary.rows,
  bytes: summary.bytes,
  elapsedMs,
  cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  maxRssBytes: usage.maxRSS * 1024,
};
process.send!(report, () => process.exit(0));
