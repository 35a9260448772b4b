import type { SubmissionRow } from "@easel/export";

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

/** The submission columns of `easel export submissions`, in order: the export's own row type. */
export type SubmissionLine = SubmissionRow;
