/** What the export children are asked to do, and what they report. */
export interface ExportJob {
  baseUrl: string;
  courseIds: number[];
  /** NDJSON output file. */
  out: string;
  /** Courses fetched at once. */
  concurrency: number;
}

export interface ExportReport {
  rows: number;
  bytes: number;
  /** From the first request to the file being complete (process start-up excluded). */
  elapsedMs: number;
  /** User + system CPU time of the whole process, ms. */
  cpuMs: number;
  /** process.resourceUsage().maxRSS, in bytes. */
  maxRssBytes: number;
}

/** The submission columns of `easel export submissions`, in order (packages/export/src/kinds.ts). */
export interface SubmissionLine {
  course_id: number;
  assignment_id: number;
  user_id: number;
  submission_id: number;
  score: number | null;
  grade: string | null;
  workflow_state: string;
  submitted_at: string | null;
  graded_at: string | null;
  late: boolean;
  missing: boolean;
  excused: boolean;
  seconds_late: number | null;
  attempt: number | null;
}
