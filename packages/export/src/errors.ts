/** Stable error codes of @easel/export. Documented in the package README. */
/** A course the token may not read, and `skipForbidden` was off. Not resumable as is. */
export const EXPORT_COURSE_FORBIDDEN = "EXPORT_COURSE_FORBIDDEN";
/** The token was revoked or cannot be refreshed: log in again (or import a token), then resume. */
export const EXPORT_REAUTH_REQUIRED = "EXPORT_REAUTH_REQUIRED";
/** Any other failure of one course (Canvas kept failing, 404, malformed answer). Resumable. */
export const EXPORT_COURSE_FAILED = "EXPORT_COURSE_FAILED";
/** The run was cancelled through its `AbortSignal` (e.g. Ctrl-C). Resumable. */
export const EXPORT_ABORTED = "EXPORT_ABORTED";
/** Writing the output, a spool file or the checkpoint failed (disk full, EPIPE, permissions). */
export const EXPORT_OUTPUT_FAILED = "EXPORT_OUTPUT_FAILED";
/** The output cannot be written at all (its directory is missing, it is a directory): fix `output`. */
export const EXPORT_OUTPUT_INVALID = "EXPORT_OUTPUT_INVALID";
/** Another live export holds the output's lock (`<out>.lock`); the message names its pid. */
export const EXPORT_OUTPUT_LOCKED = "EXPORT_OUTPUT_LOCKED";
/** A course does not exist or the token cannot see it. Not resumable: the partial output is removed. */
export const EXPORT_COURSE_NOT_FOUND = "EXPORT_COURSE_NOT_FOUND";
/** `resume` found a checkpoint for another export (kind, format, columns or courses differ). */
export const EXPORT_CHECKPOINT_MISMATCH = "EXPORT_CHECKPOINT_MISMATCH";
/** `resume` found a checkpoint or partial file it cannot trust (unreadable, partial too short). */
export const EXPORT_CHECKPOINT_INVALID = "EXPORT_CHECKPOINT_INVALID";

export type ExportErrorCode =
  | typeof EXPORT_COURSE_FORBIDDEN
  | typeof EXPORT_REAUTH_REQUIRED
  | typeof EXPORT_COURSE_FAILED
  | typeof EXPORT_ABORTED
  | typeof EXPORT_OUTPUT_FAILED
  | typeof EXPORT_OUTPUT_INVALID
  | typeof EXPORT_OUTPUT_LOCKED
  | typeof EXPORT_COURSE_NOT_FOUND
  | typeof EXPORT_CHECKPOINT_MISMATCH
  | typeof EXPORT_CHECKPOINT_INVALID;

export interface ExportErrorDetails {
  cause?: unknown;
  /** The course whose fetch failed, when one did. */
  courseId?: number | undefined;
  /** True when rerunning with `resume: true` continues where this run stopped. */
  resumable?: boolean;
  /** The kept partial output (`<out>.partial`), when writing to a file. */
  partialPath?: string | undefined;
  /** The kept checkpoint (`<out>.checkpoint.json`), when writing to a file. */
  checkpointPath?: string | undefined;
  /** Courses whose rows are safely in the partial file. */
  coursesCompleted?: number;
}

/**
 * Base class of every export failure. Messages name course ids and file paths, never a token or
 * student data. When `resumable` is true the partial output and its checkpoint were kept: rerun the
 * same export with `resume: true` (`easel export ... --resume`) once the cause is fixed.
 */
export class ExportError extends Error {
  readonly code: ExportErrorCode;
  readonly courseId: number | undefined;
  readonly resumable: boolean;
  readonly partialPath: string | undefined;
  readonly checkpointPath: string | undefined;
  readonly coursesCompleted: number;

  constructor(code: ExportErrorCode, message: string, details: ExportErrorDetails = {}) {
    super(message, { cause: details.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.courseId = details.courseId;
    this.resumable = details.resumable ?? false;
    this.partialPath = details.partialPath;
    this.checkpointPath = details.checkpointPath;
    this.coursesCompleted = details.coursesCompleted ?? 0;
  }
}

/** A `TypeError` with Node's `ERR_INVALID_ARG_VALUE` code, naming the option and the value received. */
export function invalidArg(name: string, value: unknown, expected: string): TypeError {
  let shown: string;
  try {
    shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  } catch {
    shown = typeof value;
  }
  const error = new TypeError(`The option "${name}" ${expected}. Received ${shown}`) as TypeError & {
    code: string;
  };
  error.code = "ERR_INVALID_ARG_VALUE";
  return error;
}

/** The `code` of an error from any Easel package (client, auth), or undefined. */
export function errorCode(error: unknown): string | undefined {
  if (error === null || typeof error !== "object") return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
