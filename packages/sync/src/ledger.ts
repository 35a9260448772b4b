import type { Pool } from "pg";
import { RUN_NOT_FOUND, SyncError } from "./errors.js";
import { ident } from "./tables.js";

export type RunState = "running" | "succeeded" | "failed" | "interrupted";
export type CourseState = "pending" | "running" | "done" | "failed" | "skipped";

export interface RunStatus {
  id: number;
  state: RunState;
  mode: string;
  kinds: string[];
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
  changes: number;
  counts: Record<string, number>;
  courses: { total: number } & Record<CourseState, number>;
  /** Courses whose submissions this run fetched incrementally (the others, if done, in full). */
  incrementalCourses: number;
  failedCourses: { courseId: number; error: string | null }[];
}

export async function createRun(
  pool: Pool,
  schema: string,
  run: { kinds: readonly string[]; courseIds: readonly number[]; mode: "local" | "queue" },
): Promise<number> {
  const s = ident(schema);
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const created = await client.query<{ id: string }>(
      `INSERT INTO ${s}.sync_runs (state, kinds, course_ids, mode) VALUES ('running', $1, $2, $3) RETURNING id`,
      [run.kinds, run.courseIds, run.mode],
    );
    const runId = Number(created.rows[0]!.id);
    await client.query(
      `INSERT INTO ${s}.sync_run_courses (run_id, course_id, state) SELECT $1, unnest($2::bigint[]), 'pending'`,
      [runId, run.courseIds],
    );
    await client.query("COMMIT");
    return runId;
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/**
 * The most recent run over the same courses and kinds that did not succeed, if it is the latest
 * such run: what `easel sync` resumes automatically.
 */
export async function findResumableRun(
  pool: Pool,
  schema: string,
  kinds: readonly string[],
  courseIds: readonly number[],
): Promise<number | undefined> {
  const result = await pool.query<{ id: string; state: RunState }>(
    `SELECT id, state FROM ${ident(schema)}.sync_runs
     WHERE kinds = $1 AND course_ids = $2 AND mode = 'local' ORDER BY id DESC LIMIT 1`,
    [kinds, courseIds],
  );
  const latest = result.rows[0];
  return latest && latest.state !== "succeeded" ? Number(latest.id) : undefined;
}

export async function pendingCourses(pool: Pool, schema: string, runId: number): Promise<number[]> {
  const result = await pool.query<{ course_id: string }>(
    `SELECT course_id FROM ${ident(schema)}.sync_run_courses WHERE run_id = $1 AND state <> 'done' ORDER BY course_id`,
    [runId],
  );
  return result.rows.map((r) => Number(r.course_id));
}

export async function markRunning(pool: Pool, schema: string, runId: number): Promise<void> {
  await pool.query(
    `UPDATE ${ident(schema)}.sync_runs SET state = 'running', finished_at = NULL, error = NULL WHERE id = $1`,
    [runId],
  );
}

export async function markCourseFailed(
  pool: Pool,
  schema: string,
  runId: number,
  courseId: number,
  error: string,
): Promise<void> {
  await pool.query(
    `UPDATE ${ident(schema)}.sync_run_courses SET state = 'failed', finished_at = now(), error = $3
     WHERE run_id = $1 AND course_id = $2 AND state <> 'done'`,
    [runId, courseId, error],
  );
}

/**
 * Closes a run once no course is left to do: succeeded when every course is done, failed when
 * any failed. Safe to call from every worker; only the first caller that sees the end closes it.
 */
export async function finishRunIfComplete(
  pool: Pool,
  schema: string,
  runId: number,
): Promise<RunState | undefined> {
  const s = ident(schema);
  const result = await pool.query<{ state: RunState }>(
    `UPDATE ${s}.sync_runs r SET
       state = CASE WHEN EXISTS (SELECT 1 FROM ${s}.sync_run_courses WHERE run_id = r.id AND state = 'failed')
                    THEN 'failed' ELSE 'succeeded' END,
       finished_at = now(),
       changes = (SELECT coalesce(sum(changes), 0) FROM ${s}.sync_run_courses WHERE run_id = r.id),
       counts = (SELECT coalesce(jsonb_object_agg(key, total), '{}') FROM (
                   SELECT key, sum(value::bigint) AS total FROM ${s}.sync_run_courses c, jsonb_each_text(c.counts)
                   WHERE c.run_id = r.id GROUP BY key) t)
     WHERE r.id = $1 AND r.state = 'running'
       AND NOT EXISTS (SELECT 1 FROM ${s}.sync_run_courses WHERE run_id = r.id AND state IN ('pending', 'running'))
     RETURNING state`,
    [runId],
  );
  return result.rows[0]?.state;
}

export async function markRunInterrupted(
  pool: Pool,
  schema: string,
  runId: number,
  error: string,
): Promise<void> {
  await pool.query(
    `UPDATE ${ident(schema)}.sync_runs SET state = 'interrupted', finished_at = now(), error = $2 WHERE id = $1`,
    [runId, error],
  );
}

export async function runStatus(pool: Pool, schema: string, runId: number): Promise<RunStatus> {
  const s = ident(schema);
  const run = await pool.query(`SELECT * FROM ${s}.sync_runs WHERE id = $1`, [runId]);
  const row = run.rows[0];
  if (!row) throw new SyncError(RUN_NOT_FOUND, `No sync run ${runId} in schema "${schema}".`);
  const states = await pool.query<{ state: CourseState; n: string }>(
    `SELECT state, count(*) AS n FROM ${s}.sync_run_courses WHERE run_id = $1 GROUP BY state`,
    [runId],
  );
  const courses = { total: 0, pending: 0, running: 0, done: 0, failed: 0, skipped: 0 };
  for (const { state, n } of states.rows) {
    courses[state] = Number(n);
    courses.total += Number(n);
  }
  const incremental = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM ${s}.sync_run_courses WHERE run_id = $1 AND state = 'done' AND incremental`,
    [runId],
  );
  const failed = await pool.query<{ course_id: string; error: string | null }>(
    `SELECT course_id, error FROM ${s}.sync_run_courses WHERE run_id = $1 AND state = 'failed' ORDER BY course_id`,
    [runId],
  );
  return {
    id: Number(row.id),
    state: row.state,
    mode: row.mode,
    kinds: row.kinds,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    error: row.error,
    changes: Number(row.changes),
    counts: Object.fromEntries(Object.entries(row.counts ?? {}).map(([k, v]) => [k, Number(v)])),
    courses,
    incrementalCourses: Number(incremental.rows[0]?.n ?? 0),
    failedCourses: failed.rows.map((r) => ({ courseId: Number(r.course_id), error: r.error })),
  };
}
