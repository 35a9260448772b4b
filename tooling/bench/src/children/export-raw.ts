/**
 * The floor for an export: a raw walk of exactly the pages Easel's submissions export requests, with
 * undici's `request` and nothing else (no pacing, no retries, no rows, no output). Per course: the
 * assignments list (`per_page=100`, counting the published ones), then `students/submissions` in the
 * form `submissionsPlan` gives for that count (the same function Easel's export asks). Each page's
 * body is read as text, `JSON.parse`d and dropped; a list continues at `Link: rel="next"`. The same
 * course concurrency as the other contenders; argv[2] is ExportJob as JSON, the token comes in
 * CANVAS_ACCESS_TOKEN. Reports an ExportReport over IPC (`rows`: submissions counted on the pages,
 * `bytes` of submissions response bodies).
 */
import { submissionsPlan } from "@easel/canvas-client";
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

/** Walks a list from `url` by `Link: rel="next"`, handing each parsed page to `onPage`. */
async function walk(url: string | undefined, onPage: (page: unknown[], text: string) => void): Promise<void> {
  while (url) {
    const response: Dispatcher.ResponseData = await request(url, { headers });
    const text = await response.body.text();
    if (response.statusCode !== 200)
      throw new Error(`GET ${url}: ${response.statusCode} ${text.slice(0, 200)}`);
    onPage(JSON.parse(text) as unknown[], text);
    const link: string | string[] | undefined = response.headers.link;
    url = typeof link === "string" ? NEXT.exec(link)?.[1] : undefined;
  }
}

/** `{ student_ids: ["all"], grouped: true, per_page: 10 }` as `student_ids[]=all&grouped=true&per_page=10`. */
function encode(query: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const v of value) parts.push(`${key}[]=${encodeURIComponent(String(v))}`);
    else parts.push(`${key}=${encodeURIComponent(String(value))}`);
  }
  return parts.join("&");
}

async function walkCourse(courseId: number): Promise<void> {
  const course = `${job.baseUrl}/api/v1/courses/${courseId}`;
  let published = 0;
  await walk(`${course}/assignments?per_page=100`, (page) => {
    for (const a of page as Array<{ published?: boolean }>) if (a.published !== false) published++;
  });
  const plan = submissionsPlan({ assignments: published });
  if (plan.query === undefined) return;
  const grouped = plan.form === "grouped";
  await walk(`${course}/students/submissions?${encode(plan.query)}`, (page, text) => {
    bytes += text.length;
    if (grouped) {
      for (const entry of page as GroupedEntry[]) rows += entry.submissions.length;
    } else {
      rows += page.length;
    }
  });
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
