/**
 * The same export with @kth/canvas-api, written the way a user following its README would
 * (`new CanvasApi(url, token)`, `listItems`, default throttling): every submission of the course in
 * Canvas's flat form, `student_ids: ["all"], per_page: 100` (no assignments walk, no grouped pages,
 * so more requests than Easel's plan at every size with several assignments), the same course
 * concurrency, the same columns, and a write stream that respects backpressure.
 */
import { once } from "node:events";
import { createWriteStream } from "node:fs";
import { CanvasApi } from "@kth/canvas-api";
import type { ExportJob, ExportReport, SubmissionLine } from "./export-job.js";

interface CanvasSubmission {
  id: number;
  assignment_id: number;
  user_id: number;
  score?: number | null;
  grade?: string | null;
  workflow_state: string;
  submitted_at?: string | null;
  graded_at?: string | null;
  late?: boolean;
  missing?: boolean;
  excused?: boolean | null;
  seconds_late?: number | null;
  attempt?: number | null;
}

const job = JSON.parse(process.argv[2]!) as ExportJob;
const canvas = new CanvasApi(`${job.baseUrl}/api/v1`, process.env.CANVAS_ACCESS_TOKEN!);
const out = createWriteStream(job.out);
const nullable = <T>(value: T | undefined | null): T | null => value ?? null;
let rows = 0;
let bytes = 0;
const started = performance.now();
const queue = [...job.courseIds];
async function worker(): Promise<void> {
  for (let courseId = queue.shift(); courseId !== undefined; courseId = queue.shift()) {
    const items = canvas.listItems(`courses/${courseId}/students/submissions`, {
      student_ids: ["all"],
      per_page: 100,
    });
    for await (const s of items) {
      if (!writeRow(courseId, s as CanvasSubmission)) await once(out, "drain");
    }
  }
}

/** Writes one row; false when the stream asks to wait for "drain". */
function writeRow(courseId: number, s: CanvasSubmission): boolean {
  const line: SubmissionLine = {
    course_id: courseId,
    assignment_id: s.assignment_id,
    user_id: s.user_id,
    submission_id: s.id,
    score: nullable(s.score),
    grade: nullable(s.grade),
    workflow_state: s.workflow_state,
    submitted_at: nullable(s.submitted_at),
    graded_at: nullable(s.graded_at),
    late: s.late === true,
    missing: s.missing === true,
    excused: s.excused === true,
    seconds_late: nullable(s.seconds_late),
    attempt: nullable(s.attempt),
  };
  const text = `${JSON.stringify(line)}\n`;
  rows++;
  bytes += Buffer.byteLength(text);
  return out.write(text);
}
await Promise.all(Array.from({ length: job.concurrency }, () => worker()));
out.end();
await once(out, "finish");
const usage = process.resourceUsage();
const report: ExportReport = {
  rows,
  bytes,
  elapsedMs: performance.now() - started,
  cpuMs: (usage.userCPUTime + usage.systemCPUTime) / 1000,
  maxRssBytes: usage.maxRSS * 1024,
};
process.send!(report, () => process.exit(0));
