import type {
  Assignment,
  Course,
  Enrollment,
  StudentSubmissions,
  StudentSummary,
  Submission,
  User,
} from "@easel/canvas-client";
import DataLoader from "dataloader";
import { type CanvasPort, MAX_STUDENT_IDS, ROLL_CALL_ASSIGNMENT_NAME } from "./canvas-port.js";
import { ListCache, type ListKind, type ScopedLists } from "./list-cache.js";
import {
  asError,
  byStudent,
  bySubmissions,
  groupKeys,
  type StudentKey,
  type SubmissionsKey,
  studentKey,
  submissionsKey,
} from "./loader-keys.js";
import { naivePerStudentLoaders, type PerStudentLoaders } from "./naive-loaders.js";
import type { LoaderStrategy } from "./options.js";

export { type StudentKey, type SubmissionsKey, studentKey, submissionsKey };

/**
 * The per-request loaders. Each batch function groups its keys by course and makes one
 * paginated walk per course (per_page=100), or, when that costs fewer requests, one narrow
 * request per student. They return one result per key, in key order, with an `Error` in the
 * slot of a key whose course failed. Every Canvas read goes through the request's view of the
 * cross-request list cache (`ScopedLists`), which is keyed by the credential.
 *
 * **Create them per request** (the context factory does): they cache Canvas answers made with one
 * credential, and must never serve them to another request, let alone another user.
 */
export interface Loaders {
  /** The caller's own Canvas user (`users/self`). Never cached across requests: it checks the credential. */
  viewer: DataLoader<"self", User>;
  /** The caller's courses (`GET /courses`, one walk). */
  courses: DataLoader<"mine", readonly Course[]>;
  /** One course (`GET /courses/:id`), or primed from `courses`. */
  course: DataLoader<number, Course>;
  /** The student enrollments of a course, one per student (first enrollment wins), Canvas order. */
  roster: Pick<DataLoader<number, readonly Enrollment[]>, "load">;
  /** One student's enrollment in a course, or null when Canvas has none the caller may see. */
  enrollment: DataLoader<StudentKey, Enrollment | null, string>;
  assignments: DataLoader<number, readonly Assignment[]>;
  /** A student's submissions in a course (all published assignments, or the listed ones). */
  submissions: DataLoader<SubmissionsKey, readonly Submission[], string>;
  /** A student's analytics summary, or null when analytics has no row for them. */
  summary: DataLoader<StudentKey, StudentSummary | null, string>;
  /**
   * The course's whole `student_summaries` list. Started by the planner before the roster is known
   * (so `summary` then reads it instead of asking per student).
   */
  summaries: Pick<DataLoader<number, readonly StudentSummary[]>, "load">;
  /** The Roll Call Attendance submission, or null (no such assignment, or no submission). */
  rollCall: DataLoader<StudentKey, Submission | null, string>;
  /**
   * True when the roster row a `Student` was made from is exactly what `enrollment` answers for
   * that student (the roster walk primes it), so its fields read the row with no load and no
   * promise. False for the naive baseline, whose point is one request per student.
   */
  rowIsEnrollment: boolean;
  /** `summary` and `rollCall` answers that already arrived, readable without a promise. */
  arrived: {
    summary: Arrivals<StudentKey, StudentSummary | null>;
    rollCall: Arrivals<StudentKey, Submission | null>;
  };
}

/**
 * What a loader has answered so far. graphql-js completes a plain value much more cheaply than a
 * promise, so fields whose data is in hand read it here instead of `load` (one promise each).
 */
export interface Arrivals<K, V> {
  /** The answer for `key` if its load succeeded already; undefined if not asked, not yet, or failed. */
  now(key: K): V | undefined;
  /**
   * Settles (never rejects) when the load already started for `key` ends; undefined when no load
   * was started for it, or it ended. Waiting on it never asks Canvas for anything.
   */
  pending(key: K): Promise<void> | undefined;
}

/**
 * Records the answers of `loader.load` (it keeps its own contract: same promise per key, same
 * errors) so `Arrivals` can hand them out synchronously.
 */
function recordArrivals<K, V>(
  loader: DataLoader<K, V, string>,
  cacheKeyOf: (key: K) => string,
): Arrivals<K, V> {
  const values = new Map<string, V>();
  const waiting = new Map<string, Promise<void>>();
  const load = loader.load.bind(loader);
  loader.load = (key: K) => {
    const id = cacheKeyOf(key);
    const answer = load(key);
    if (!values.has(id) && !waiting.has(id)) {
      waiting.set(
        id,
        answer.then(
          (value) => {
            values.set(id, value);
            waiting.delete(id);
          },
          () => {
            waiting.delete(id);
          },
        ),
      );
    }
    return answer;
  };
  return {
    now: (key) => values.get(cacheKeyOf(key)),
    pending: (key) => waiting.get(cacheKeyOf(key)),
  };
}

export interface LoaderHooks {
  /** Called with every batch's size (metrics). */
  onBatch?: (loader: string, size: number) => void;
}

/**
 * Walk the whole list, or ask per student? A walk costs ceil(N/100) requests for the course's
 * N students, a per-student request costs 1 each: per-student wins only when fewer students
 * than walk pages are wanted. With N unknown (roster not loaded yet), only a single student is
 * asked for alone.
 */
export function perStudentIsCheaper(wanted: number, rosterSize: number | undefined): boolean {
  if (wanted <= 1) return true;
  return rosterSize !== undefined && wanted < Math.ceil(rosterSize / MAX_STUDENT_IDS);
}

const one = () => 1;
const count = (list: readonly unknown[]) => list.length;
/** Memory follows submissions, not students: count both. */
const submissionRows = (list: readonly StudentSubmissions[]) =>
  list.reduce((sum, row) => sum + 1 + row.submissions.length, 0);

/** No cross-request cache: what `createLoaders` uses when given no `lists`. */
const uncached = () => new ListCache({ ttlMs: 0, maxEntries: 0, maxRows: 0, now: () => 0 }).scoped("none");

/** A Canvas list that can be read whole per course or narrowed to one student. */
interface StudentList<Row> {
  /** The whole list is loaded or being loaded already: reading it again costs nothing. */
  haveWholeList(courseId: number): boolean;
  wholeList(courseId: number): Promise<readonly Row[]>;
  /** The narrow request: this student's rows only (one request). */
  oneStudent(courseId: number, studentId: number): Promise<readonly Row[]>;
  studentOf(row: Row): number;
}

/**
 * A batch function answering one row per student key from `list`: per course, one whole-list
 * read, or one narrow read per student when `perStudentIsCheaper` says so. A student with no row
 * gets null; a failed read puts its `Error` in the slot of every key it answers.
 */
function perStudentOrWholeList<Row>(
  list: StudentList<Row>,
  rosterSize: (courseId: number) => number | undefined,
): DataLoader.BatchLoadFn<StudentKey, Row | null> {
  return async (keys) => {
    const results: Array<Row | null | Error> = new Array(keys.length).fill(null);
    await Promise.all(
      [...groupKeys(keys, (key) => key.courseId)].map(async ([courseId, wanted]) => {
        try {
          const distinct = new Set(wanted.map(({ key }) => key.studentId)).size;
          if (!list.haveWholeList(courseId) && perStudentIsCheaper(distinct, rosterSize(courseId))) {
            await Promise.all(
              wanted.map(async ({ key: { studentId }, index }) => {
                try {
                  const rows = await list.oneStudent(courseId, studentId);
                  results[index] = rows.find((row) => list.studentOf(row) === studentId) ?? null;
                } catch (error) {
                  results[index] = asError(error);
                }
              }),
            );
            return;
          }
          const rows = await list.wholeList(courseId);
          const byStudentId = new Map(rows.map((row) => [list.studentOf(row), row]));
          for (const { key, index } of wanted) results[index] = byStudentId.get(key.studentId) ?? null;
        } catch (error) {
          for (const { index } of wanted) results[index] = asError(error);
        }
      }),
    );
    return results;
  };
}

/** Builds a request's loaders over one Canvas credential. */
export function createLoaders(
  canvas: CanvasPort,
  options: {
    /** `"naive-per-student"` is for benchmarks only (see naive-loaders.ts). @default "batched" */
    strategy?: LoaderStrategy;
    signal?: AbortSignal;
    hooks?: LoaderHooks;
    /** This request's view of the list cache, scoped to its credential. @default no cache */
    lists?: ScopedLists;
  } = {},
): Loaders {
  const signal = options.signal;
  const onBatch = options.hooks?.onBatch;
  const lists = options.lists ?? uncached();
  // Known roster sizes of this request, and courses whose roster walk was started.
  const rosterSize = new Map<number, number>();
  const rosterRequested = new Set<number>();
  const knownRosterSize = (courseId: number) =>
    rosterSize.get(courseId) ?? lists.peek<readonly Enrollment[]>(courseId, "roster")?.length;

  const observe = <K, V>(name: string, fn: DataLoader.BatchLoadFn<K, V>): DataLoader.BatchLoadFn<K, V> => {
    return (keys) => {
      onBatch?.(name, keys.length);
      return fn(keys);
    };
  };

  const viewer = new DataLoader<"self", User>(
    observe("viewer", async (keys) => {
      const me = await canvas.self(signal);
      return keys.map(() => me);
    }),
  );

  const course: DataLoader<number, Course> = new DataLoader(
    observe<number, Course>("course", (courseIds) =>
      Promise.all(
        courseIds.map((courseId) =>
          lists
            .read(courseId, "course", "", (s) => canvas.course(courseId, s), one)
            .catch((error: unknown) => asError(error)),
        ),
      ),
    ),
  );

  const courses = new DataLoader<"mine", readonly Course[]>(
    observe("courses", async (keys) => {
      const list = await lists.read(
        undefined,
        "courses",
        "",
        async (s) => {
          const fetched = await canvas.courses(s);
          // The list answers `course(id)` for each of them too (same fields) in later requests.
          // Primed when fetched, not on every hit: a primed entry must not outlive the list.
          for (const row of fetched) lists.prime(row.id, "course", "", row, 1);
          return fetched;
        },
        count,
      );
      for (const row of list) course.prime(row.id, row);
      return keys.map(() => list);
    }),
  );

  /** The students of a course the credential can see: the walk, or (students) themselves. */
  const walkRoster = async (courseId: number, walkSignal: AbortSignal | undefined) => {
    let rows: Enrollment[];
    try {
      rows = await canvas.studentEnrollments(courseId, undefined, walkSignal);
    } catch (error) {
      // A student may not read the roster, only their own enrollment: the roster they
      // can see is themselves. Anyone else keeps the FORBIDDEN.
      if ((error as { code?: unknown }).code !== "CANVAS_FORBIDDEN") throw error;
      rows = await canvas.studentEnrollments(courseId, "self", walkSignal).catch(() => {
        throw error;
      });
      if (rows.length === 0) throw error;
    }
    const seen = new Set<number>();
    const students: Enrollment[] = [];
    for (const row of rows) {
      if (seen.has(row.user_id)) continue;
      seen.add(row.user_id);
      students.push(row);
    }
    return students;
  };

  const roster: DataLoader<number, readonly Enrollment[]> = new DataLoader(
    observe<number, readonly Enrollment[]>("roster", (courseIds) =>
      Promise.all(
        courseIds.map(async (courseId) => {
          try {
            const students = await lists.read(courseId, "roster", "", (s) => walkRoster(courseId, s), count);
            rosterSize.set(courseId, students.length);
            // Not primed into `enrollment` row by row: a student's fields read the row they came
            // from (`rowIsEnrollment`), and a lookup by id reads this walk (`haveWholeList`).
            return students;
          } catch (error) {
            return asError(error);
          }
        }),
      ),
    ),
  );
  const loadRoster = (courseId: number) => {
    rosterRequested.add(courseId);
    return roster.load(courseId);
  };

  /** One row per student key, from a list read whole or narrowed to each student. */
  const studentLoader = <Row>(name: string, list: StudentList<Row>) =>
    new DataLoader<StudentKey, Row | null, string>(
      observe(name, perStudentOrWholeList(list, knownRosterSize)),
      byStudent,
    );
  /** A narrow per-student read through the list cache, under `kind` and the student's id. */
  const narrowRead =
    <Row>(kind: ListKind, fetch: (courseId: number, studentId: number, s?: AbortSignal) => Promise<Row[]>) =>
    (courseId: number, studentId: number) =>
      lists.read<readonly Row[]>(
        courseId,
        kind,
        String(studentId),
        (s) => fetch(courseId, studentId, s),
        count,
      );

  const enrollment = studentLoader<Enrollment>("enrollment", {
    haveWholeList: (courseId) =>
      rosterRequested.has(courseId) || lists.peek(courseId, "roster") !== undefined,
    wholeList: loadRoster,
    oneStudent: narrowRead("enrollment", (c, id, s) => canvas.studentEnrollments(c, id, s)),
    studentOf: (row) => row.user_id,
  });

  const assignments = new DataLoader<number, readonly Assignment[]>(
    observe("assignments", (courseIds) =>
      Promise.all(
        courseIds.map((courseId) =>
          lists
            .read(courseId, "assignments", "", (s) => canvas.assignments(courseId, s), count)
            .catch((error: unknown) => asError(error)),
        ),
      ),
    ),
  );

  const submissions = new DataLoader<SubmissionsKey, readonly Submission[], string>(
    observe("submissions", async (keys) => {
      const results: Array<readonly Submission[] | Error> = new Array(keys.length).fill([]);
      // Group by course AND assignment list: each group is one Canvas walk.
      const groups = groupKeys(keys, (key) => `${key.courseId}:${key.assignmentIds.join(",")}`);
      await Promise.all(
        [...groups.values()].map(async (wanted) => {
          const { courseId, assignmentIds } = wanted[0]!.key;
          const assignmentFilter = assignmentIds.length > 0 ? assignmentIds : undefined;
          try {
            // Grouped answers are paginated by STUDENT: k wanted students cost ceil(k/100)
            // requests in id chunks of 100, never more than `student_ids[]=all` (which also
            // walks students the roster does not show, e.g. concluded ones), and fetch only
            // what is wanted. Ids are sorted before chunking, so the same students make the
            // same chunks (cache keys) whatever order the resolvers asked in.
            const studentIds = [...new Set(wanted.map(({ key }) => key.studentId))].sort((a, b) => a - b);
            const filter = assignmentIds.join(",");
            const chunks: number[][] = [];
            for (let i = 0; i < studentIds.length; i += MAX_STUDENT_IDS) {
              chunks.push(studentIds.slice(i, i + MAX_STUDENT_IDS));
            }
            const pages = await Promise.all(
              chunks.map((chunk) =>
                lists.read(
                  courseId,
                  "submissions",
                  `${filter}|${chunk.join(",")}`,
                  (s) => canvas.groupedSubmissions(courseId, chunk, assignmentFilter, s),
                  submissionRows,
                ),
              ),
            );
            const byUser = new Map(pages.flat().map((row) => [row.user_id, row.submissions]));
            for (const { key, index } of wanted) results[index] = byUser.get(key.studentId) ?? [];
          } catch (error) {
            for (const { index } of wanted) results[index] = asError(error);
          }
        }),
      );
      return results;
    }),
    bySubmissions,
  );

  // Courses whose whole summaries list this request started (the planner, or a batch).
  const summariesRequested = new Map<number, Promise<readonly StudentSummary[]>>();
  const loadSummaries = (courseId: number) => {
    let list = summariesRequested.get(courseId);
    if (!list) {
      list = lists.read(
        courseId,
        "summaries",
        "",
        (s) => canvas.studentSummaries(courseId, undefined, s),
        count,
      );
      // Its readers handle a failure; nobody may read it (a speculative start).
      list.catch(() => {});
      summariesRequested.set(courseId, list);
    }
    return list;
  };
  const summary = studentLoader<StudentSummary>("summary", {
    haveWholeList: (courseId) =>
      summariesRequested.has(courseId) || lists.peek(courseId, "summaries") !== undefined,
    wholeList: loadSummaries,
    oneStudent: narrowRead("summary", (c, id, s) => canvas.studentSummaries(c, id, s)),
    studentOf: (row) => row.id,
  });

  const perStudent: PerStudentLoaders =
    options.strategy === "naive-per-student"
      ? naivePerStudentLoaders(canvas, signal, observe)
      : { enrollment, submissions, summary };

  const rollCall = new DataLoader<StudentKey, Submission | null, string>(
    observe("rollCall", async (keys) => {
      const results: Array<Submission | null | Error> = new Array(keys.length).fill(null);
      // One wait for the course's assignments per course, not one per student.
      await Promise.all(
        [...groupKeys(keys, (key) => key.courseId)].map(async ([courseId, wanted]) => {
          let assignment: Assignment | undefined;
          try {
            assignment = rollCallAssignment(await assignments.load(courseId));
          } catch (error) {
            for (const { index } of wanted) results[index] = asError(error);
            return;
          }
          if (!assignment) return;
          const id = assignment.id;
          // Through the submissions loader: every student's Roll Call row comes from one walk.
          await Promise.all(
            wanted.map(({ key, index }) =>
              perStudent.submissions.load(submissionsKey(courseId, key.studentId, [id])).then(
                (rows) => {
                  results[index] = rows.find((row) => row.assignment_id === id) ?? null;
                },
                (error: unknown) => {
                  results[index] = asError(error);
                },
              ),
            ),
          );
        }),
      );
      return results;
    }),
    byStudent,
  );

  const naive = options.strategy === "naive-per-student";
  return {
    viewer,
    courses,
    course,
    roster: { load: loadRoster },
    summaries: { load: loadSummaries },
    ...perStudent,
    assignments,
    rollCall,
    rowIsEnrollment: !naive,
    arrived: {
      summary: recordArrivals(perStudent.summary, byStudent.cacheKeyFn),
      rollCall: recordArrivals(rollCall, byStudent.cacheKeyFn),
    },
  };
}

/** The published "Roll Call Attendance" assignment of a course, if the tool is installed. */
export function rollCallAssignment(list: readonly Assignment[]): Assignment | undefined {
  return list.find((a) => a.name === ROLL_CALL_ASSIGNMENT_NAME && a.published !== false);
}
