/**
 * Incremental submissions: after a complete run, a course's submissions are the previous warehouse
 * rows plus what Canvas reports changed since the course's high-water mark minus an overlap.
 *
 * What `submitted_since` / `graded_since` cannot report (no timestamp moves: grade removed, posting,
 * deletions, re-opened, late-policy changes) waits for the periodic full run (`easel sync --full`).
 * Students and assignments the warehouse has no rows of (new, re-enrolled, newly published) are
 * fetched whole; rows of students or assignments Canvas no longer lists are dropped, as a full run would.
 * The changes are merged into the warehouse in the course's swap transaction, touching only them.
 */
import type { Pool, PoolClient } from "pg";
import type { IncrementalCourseDataSource, WarehouseRow } from "./source.js";
import { ident, type TableSpec } from "./tables.js";

/** What an incremental course run fetched against, replayed inside the swap transaction. */
export interface SubmissionDelta {
  since: Date;
  studentIds: number[];
  assignmentIds: number[];
}

/** The course's high-water mark, if its last successful run recorded one (then it may go incremental). */
export async function readHighWaterMark(
  pool: Pool,
  schema: string,
  courseId: number,
): Promise<Date | undefined> {
  const result = await pool.query<{ high_water_mark: Date | null }>(
    `SELECT high_water_mark FROM ${ident(schema)}.sync_course_state WHERE course_id = $1 AND kind = 'submissions'`,
    [courseId],
  );
  return result.rows[0]?.high_water_mark ?? undefined;
}

/**
 * The changed submissions to stage: since (mark − overlap), then every submission of students and
 * published assignments the warehouse has none of. The course's current students (from the source)
 * and published assignments (from this run's staging, staged before submissions) load while the
 * changes stream; `delta()` is what the merge needs once the rows are staged.
 */
export function submissionChanges(
  pool: Pool,
  options: {
    schema: string;
    runId: number;
    courseId: number;
    source: IncrementalCourseDataSource;
    since: Date;
    /** Settles when this run's assignments are staged. */
    assignmentsStaged: Promise<unknown>;
    signal?: AbortSignal;
  },
): { rows: AsyncIterable<WarehouseRow>; delta(): SubmissionDelta } {
  const { schema, runId, courseId, source, since, signal } = options;
  const s = ident(schema);
  const current = Promise.all([
    source.studentIds(courseId, signal),
    options.assignmentsStaged.then(() =>
      pool.query<{ assignment_id: string }>(
        `SELECT DISTINCT assignment_id FROM ${s}.staging_assignments
         WHERE run_id = $1 AND course_id = $2 AND published IS NOT FALSE`,
        [runId, courseId],
      ),
    ),
    pool.query<{ users: string[] | null; assignments: string[] | null }>(
      `SELECT array_agg(DISTINCT user_id) AS users, array_agg(DISTINCT assignment_id) AS assignments
       FROM ${s}.submissions WHERE course_id = $1`,
      [courseId],
    ),
  ]);
  current.catch(() => undefined); // awaited below; a failed change stream must not leave it unhandled
  let delta: SubmissionDelta | undefined;
  async function* rows(): AsyncIterable<WarehouseRow> {
    yield* source.changedSubmissions(courseId, since, signal);
    const [students, assignments, known] = await current;
    const studentIds = [...students];
    const assignmentIds = assignments.rows.map((r) => Number(r.assignment_id));
    const knownUsers = new Set((known.rows[0]?.users ?? []).map(Number));
    const knownAssignments = new Set((known.rows[0]?.assignments ?? []).map(Number));
    yield* source.submissionsOf(
      courseId,
      {
        studentIds: studentIds.filter((id) => !knownUsers.has(id)),
        assignmentIds: assignmentIds.filter((id) => !knownAssignments.has(id)),
      },
      signal,
    );
    delta = { since, studentIds, assignmentIds };
  }
  return {
    rows: rows(),
    delta() {
      if (!delta) throw new Error("The changed submissions were not staged completely.");
      return delta;
    },
  };
}

/**
 * Inside the swap transaction, instead of replacing the course's submissions: upserts the staged
 * changes (newest per key; only rows whose data differ are written, stamped with this run) and deletes
 * the rows of students or assignments Canvas no longer lists (a dropped student's rows go, as in a
 * full run). Untouched rows keep the run that last wrote them, so the work is proportional to the
 * changes, not to the course.
 */
export async function mergeSubmissions(
  client: PoolClient,
  schema: string,
  spec: TableSpec,
  runId: number,
  courseId: number,
  delta: SubmissionDelta,
): Promise<{ changes: number; rows: number }> {
  const s = ident(schema);
  const target = `${s}.${ident(spec.table)}`;
  const names = spec.columns.map(([name]) => name);
  const cols = names.map(ident).join(", ");
  const pk = spec.primaryKey.map(ident).join(", ");
  const data = names.filter((name) => !spec.primaryKey.includes(name)).map(ident);
  const order = spec.newest ? `, ${spec.newest}` : "";
  const upserted = await client.query(
    `INSERT INTO ${target} AS t (${cols}, sync_run_id)
     SELECT DISTINCT ON (${pk}) ${cols}, $1::bigint FROM ${s}.${ident(`staging_${spec.table}`)}
     WHERE run_id = $1 AND course_id = $2 ORDER BY ${pk}${order}
     ON CONFLICT (${pk}) DO UPDATE SET ${data.map((c) => `${c} = EXCLUDED.${c}`).join(", ")}, sync_run_id = EXCLUDED.sync_run_id
     WHERE (${data.map((c) => `t.${c}`).join(", ")}) IS DISTINCT FROM (${data.map((c) => `EXCLUDED.${c}`).join(", ")})`,
    [runId, courseId],
  );
  // One statement: its count sees the rows before its delete (one snapshot), so rows = count - removed.
  const removed = await client.query<{ removed: string; total: string }>(
    `WITH d AS (DELETE FROM ${target} WHERE course_id = $1
       AND NOT (user_id = ANY($2::bigint[]) AND assignment_id = ANY($3::bigint[])) RETURNING 1)
     SELECT (SELECT count(*) FROM d) AS removed, (SELECT count(*) FROM ${target} WHERE course_id = $1) AS total`,
    [courseId, delta.studentIds, delta.assignmentIds],
  );
  const gone = Number(removed.rows[0]?.removed ?? 0);
  return { changes: (upserted.rowCount ?? 0) + gone, rows: Number(removed.rows[0]?.total ?? 0) - gone };
}

/**
 * The course's new high-water mark, as SQL for the swap transaction after the swap (`$1` the course,
 * `$2` when the run started fetching): the latest submitted_at / graded_at the warehouse now holds, in
 * Canvas's own clock (no skew with ours), but never later than when this run started fetching (a
 * timestamp Canvas dates in the future must not hide the changes made before it).
 */
export function highWaterMarkSql(schema: string, course = "$1", fetchStartedAt = "$2"): string {
  return `SELECT CASE WHEN m IS NULL THEN NULL ELSE least(m, ${fetchStartedAt}::timestamptz) END AS mark
     FROM (SELECT greatest(max(submitted_at), max(graded_at)) AS m
     FROM ${ident(schema)}.submissions WHERE course_id = ${course}) latest`;
}
