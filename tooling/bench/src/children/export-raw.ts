/**
 * The floor for an export: a raw walk of the same pages Easel's submissions export requests, with
 * undici's `request` and nothing else (no pacing, no retries, no rows, no output). Each page's body
 * is read as text, `JSON.parse`d and dropped; the list continues at `Link: rel="next"`. The same
 * course concurrency as the other contenders; argv[2] is ExportJob as JSON (with `form`), the token
 * comes in CANVAS_ACCESS_TOKEN. Reports an ExportReport over IPC (`rows` counted from the pages,
 * `bytes` of response bodies).
 */
import { type Dispatcher, request } from "undici";
import type { ExportJob, ExportReport } from "./export-job.js";

const job = JSON.parse(process.argv[2]!) as ExportJob;
const token = process.env.CANVAS_ACCESS_TOKEN!;
const headers = { authorization: `Bearer ${token}`, accept: "application/json" };
const NEXT = /<([^>]*)>;\s*rel="next"/;

interface GroupedEntry {
  submissions: unknown[];
}

let rows = 0;
let bytes = 0;
const started = performance.now();

async function walkCourse(courseId: number): Promise<void> {
  // The query exactly as Easel's client encodes it, so both walk the same pages.
  const query = job.form === "grouped" ? "grouped=true&student_ids[]=all" : "student_ids[]=all";
  let url: string | undefined =
    `${job.baseUrl}/api/v1/courses/${courseId}/students/submissions?${query}&per_page=100`;
  while (url) {
    const response: Dispatcher.ResponseData = await request(url, { headers });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`GET ${url}: ${response.statusCode} ${text.slice(0, 200)}`);
    bytes += text.length;
    const page = JSON.parse(text) as unknown[];
    if (job.form === "grouped") {
      for (const entry of page as GroupedEntry[]) rows += entry.submissions.length;
    } else {
      rows += page.length;
    }
    const link: string | string[] | undefined = response.headers.link;
    url = typeof link === "string" ? NEXT.exec(link)?.[1] : undefined;
  }
}

const queue = [...job.courseIds];
async function worker(): Promise<void> {
  for (let courseId = queue.shift(); courseId !== undefined; courseId = queue.shift()) {
    await walkCourse(courseId);
  }
}
await Promise.all(Array.from({ length: job.concurrency }, () => worker()));
const usage = process.resourceUsage();
const report: ExportReport = {
  rows,
  bytes,
  elapsedMs: performance.now() - started,
  cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  maxRssBytes: usage.maxRSS * 1024,
};
process.send!(report, () => process.exit(0));
