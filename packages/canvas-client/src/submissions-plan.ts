/**
 * Which form of `GET /api/v1/courses/:id/students/submissions` reads a whole course for the least
 * Canvas work, and how big its pages may be.
 *
 * Both forms serve the same submissions; they differ in what a page holds. The flat form pages
 * submissions, at most 100 a page (`Api::MAX_PER_PAGE`). The grouped form pages students (ordered by
 * user id), each with every submission of theirs, so one page of 100 students holds 100 × assignments
 * submissions. Every request of either form also pays a fixed price that grows with the course, not
 * the page: Canvas works out assignment visibility for all of the course's students and assignments on
 * each call (canvas:app/controllers/submissions_api_controller.rb `for_students`,
 * `users_with_visibility_by_assignment_for_users(user_ids: student_ids, ...)`). So fewer, fuller pages
 * cost Canvas less, up to the size a request can serve well within Canvas's request timeout.
 *
 * Where the line is: at most 1,000 submissions on one grouped page. Canvas loads a grouped page's
 * submissions and their preloads in one query and renders them in one response, so the page must stay
 * well inside Canvas's request timeout; the sizes Canvas's own gradebook asks of it are the evidence of
 * what it serves comfortably. Its REST loader reads this same endpoint grouped, 35 students a request
 * below 20 assignments and 10 above (canvas:app/controllers/gradebooks_controller.rb
 * `gradebook2.submissions_chunk_size`, `gradebook2.many_submissions_chunk_size`): at most about 700
 * submissions, and 1,000 for a 100-assignment course. Its newer GraphQL loader asks up to 2,000 a
 * response (canvas:ui/features/gradebook/.../graphql/config.ts, "maxPageSize *
 * initialNumberOfStudentsPerSubmissionRequest submissions" = 100 × 20). 1,000 sits between the two,
 * still needs a tenth of the flat form's requests, and keeps the page a client holds (and prefetches)
 * to about a megabyte of JSON.
 */

/** Canvas's most items per page (`Api::MAX_PER_PAGE`). */
const MAX_PER_PAGE = 100;

/** At most this many submissions on one grouped page (see the module comment for why). */
export const GROUPED_SUBMISSIONS_PER_PAGE = 1_000;

/** What a plan needs to know of a course. */
export interface CourseShape {
  /** Published assignments (the ones `students/submissions` lists). */
  assignments: number;
  /** Students (every enrollment state but deleted), when known: it only breaks ties. */
  students?: number;
}

export interface SubmissionsPlanOptions {
  /** Most submissions on one grouped page. @default GROUPED_SUBMISSIONS_PER_PAGE */
  maxSubmissionsPerPage?: number;
}

/** How to read every submission of a course. */
export interface SubmissionsPlan {
  /** `grouped`: pages of students with their submissions; `flat`: pages of submissions. */
  form: "grouped" | "flat";
  /** The `per_page` to ask for (students for `grouped`, submissions for `flat`). */
  perPage: number;
  /**
   * The query a walk of the whole course sends (`student_ids[]=all`, `grouped`, `per_page`): walk it
   * from the first page by `Link: rel="next"`. Empty when the course has nothing to read.
   */
  query: { student_ids: ["all"]; grouped?: true; per_page: number } | undefined;
  /** Requests the walk takes; undefined when the student count is unknown. 0: nothing to read. */
  requests: number | undefined;
  /**
   * Rows Canvas serves (submissions, plus one entry per student on grouped pages), assuming one
   * submission per student and assignment; undefined when the student count is unknown.
   */
  rows: number | undefined;
}

function count(name: string, value: unknown, min: number): number {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    const error = new TypeError(
      `submissionsPlan: "${name}" must be an integer >= ${min}; received ${String(value)}`,
    );
    (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
    throw error;
  }
  return value;
}

/** Requests a walk of `items` takes at `perPage` a page: an empty list is still one request. */
function pages(items: number, perPage: number): number {
  return Math.max(1, Math.ceil(items / perPage));
}

/**
 * The cheapest way to read a course's submissions: the form with the fewest requests, and on a tie
 * the one serving fewer rows (flat: it has no student entries). The grouped form never needs more
 * requests than the flat one; the flat form wins only when a course's submissions fit in as few flat
 * pages (one assignment, or at most 100 submissions in all), and for a course with no published
 * assignment there is nothing to ask (`requests: 0`, no query).
 *
 * @example
 * submissionsPlan({ assignments: 100, students: 10_000 });
 * // { form: "grouped", perPage: 10, requests: 1_000, rows: 1_010_000, query: {...} } (flat: 10,000 requests)
 */
export function submissionsPlan(shape: CourseShape, options: SubmissionsPlanOptions = {}): SubmissionsPlan {
  const assignments = count("assignments", shape.assignments, 0);
  const students = shape.students === undefined ? undefined : count("students", shape.students, 0);
  const budget = count(
    "maxSubmissionsPerPage",
    options.maxSubmissionsPerPage ?? GROUPED_SUBMISSIONS_PER_PAGE,
    1,
  );
  // No published assignment: Canvas would answer an empty list. (No student is not the same: the
  // roster may miss a test student Canvas still lists, so that course is still asked, once.)
  if (assignments === 0) {
    return { form: "flat", perPage: MAX_PER_PAGE, query: undefined, requests: 0, rows: 0 };
  }
  const groupedPerPage = Math.max(1, Math.min(MAX_PER_PAGE, Math.floor(budget / assignments)));
  const flat = (): SubmissionsPlan => ({
    form: "flat",
    perPage: MAX_PER_PAGE,
    query: { student_ids: ["all"], per_page: MAX_PER_PAGE },
    requests: students === undefined ? undefined : pages(students * assignments, MAX_PER_PAGE),
    rows: students === undefined ? undefined : students * assignments,
  });
  const grouped = (): SubmissionsPlan => ({
    form: "grouped",
    perPage: groupedPerPage,
    query: { student_ids: ["all"], grouped: true, per_page: groupedPerPage },
    requests: students === undefined ? undefined : pages(students, groupedPerPage),
    rows: students === undefined ? undefined : students * assignments + students,
  });
  if (students === undefined) return assignments <= 1 ? flat() : grouped();
  const [f, g] = [flat(), grouped()];
  return f.requests! <= g.requests! ? f : g;
}
