export {
  type Checkpoint,
  type CompletedCourse,
  DEFAULT_FILE_MODE,
  type ExportPaths,
  exportPaths,
  readCheckpoint,
  type SkippedCourse,
} from "./checkpoint.js";
export type { ClientStats, ExportClient } from "./client.js";
export { type ListCoursesOptions, listCourseIds } from "./course-list.js";
export {
  EXPORT_ABORTED,
  EXPORT_CHECKPOINT_INVALID,
  EXPORT_CHECKPOINT_MISMATCH,
  EXPORT_COURSE_FAILED,
  EXPORT_COURSE_FORBIDDEN,
  EXPORT_COURSE_NOT_FOUND,
  EXPORT_OUTPUT_FAILED,
  EXPORT_OUTPUT_INVALID,
  EXPORT_OUTPUT_LOCKED,
  EXPORT_REAUTH_REQUIRED,
  ExportError,
  type ExportErrorCode,
} from "./errors.js";
export {
  type ExportCoursesOptions,
  type ExportProgress,
  type ExportSummary,
  exportCourses,
} from "./export.js";
export {
  type CellValue,
  CSV_LINE_ENDING,
  createCsvWriter,
  createNdjsonWriter,
  createRowSerializer,
  EXPORT_FORMATS,
  type ExportFormat,
  quoteCsvField,
  type Row,
  type RowSerializer,
} from "./formats.js";
export {
  type AssignmentRow,
  type AttendanceRow,
  type ColumnSpec,
  type CourseRow,
  columnsOf,
  describeColumns,
  type EngagementRow,
  type EnrollmentRow,
  EXPORT_KINDS,
  EXPORTED_ENROLLMENT_STATES,
  type ExportKind,
  type GradeRow,
  type KindRows,
  publishedAssignmentOrder,
  ROLL_CALL_ASSIGNMENT_NAME,
  type RowsOptions,
  rowsForCourse,
  type SubmissionRow,
  submissionRow,
} from "./kinds.js";
export { checkExportOutput } from "./output-lock.js";
