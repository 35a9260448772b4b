import type { SubmissionRow } from "@easel/export";

/**
 * The two forms of Canvas's submissions list for every student of a course: `flat` (one
 * submission per item, `student_ids[]=all&per_page=100`) or `grouped` (one student per item with
 * all their submissions, `grouped=true`, 100 students a page).
 */
export type SubmissionsForm = "flat" | "grouped";

/** What the export children are asked to do, and what they report. */
export interface ExportJob {
  baseUrl: string;
  courseIds: number[];
  /** NDJSON output file. */
  out: string;
  /** Courses fetched at once. */
  concurrency: number;
  /** The pages to walk (raw walk and @kth/canvas-api; Easel's export picks its own). */
  form: SubmissionsForm;
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
