import type { Pool, PoolClient } from "pg";
import {
  highWaterMark,
  mergeSubmissions,
  readHighWaterMark,
  type SubmissionDelta,
  submissionChanges,
} from "./incremental.js";
import { type CourseDataSource, isIncrementalSource, type WarehouseRow } from "./source.js";
import { ident, TABLES, type TableName, type TableSpec } from "./tables.js";

export interface CourseSyncResult {
  courseId: number;
  /** Rows the course has per table after the run. */
  counts: Record<string, number>;
  /** Rows fetched from the source per table (less than `counts` for an incremental run's submissions). */
  fetched: Record<string, number>;
  /** True when submissions were fetched incrementally (changes since the high-water mark). */
  incremental: boolean;
  /** Rows inserted, deleted or changed compared with what the previous run left. */
  changes: number;
  /** True when another worker had already finished this course for this run. */
  alreadyDone: boolean;
}

const BATCH_ROWS = 1_000;

/** Default overlap under the high-water mark: covers timestamps committed or replicated late. */
export const DEFAULT_OVERLAP_SECONDS = 3_600;

/**
 * Syncs one course, all its tables, all or nothing: rows stream into staging first; then one
 * transaction replaces the course's rows in every table. A failure before COMMIT (a revoked
 * token, a kill -9, a network error) leaves the course exactly as the previous successful run
 * left it, and readers never see two runs mixed within a course.
 */
export async function syncCourse(
  pool: Pool,
  options: {
    schema: string;
    runId: number;
    courseId: number;
    tables: readonly TableName[];
    source: CourseDataSource;
    /** Fetch every submission even if an incremental run is possible. @default false */
    full?: boolean;
    /** @default DEFAULT_OVERLAP_SECONDS */
    overlapSeconds?: number;
    signal?: AbortSignal;
  },
): Promise<CourseSyncResult> {
  const { schema, runId, courseId, tables, source, signal } = options;
  const fetchStartedAt = new Date();
  const mark =
    !options.full && tables.includes("submissions") && isIncrementalSource(source)
      ? await readHighWaterMark(pool, schema, courseId)
      : undefined;
  const s = ident(schema);
  await pool.query(
    `UPDATE ${s}.sync_run_courses SET state = 'running', attempts = attempts + 1, started_at = now(), error = NULL
     WHERE run_id = $1 AND course_id = $2 AND state <> 'done'`,
    [runId, courseId],
  );
  await clearStaging(pool, schema, tables, runId, courseId);

  const fetched: Record<string, number> = {};
  let delta: SubmissionDelta | undefined;
  // One failing table stops the course's other fetches.
  const failed = new AbortController();
  const tableSignal = signal ? AbortSignal.any([signal, failed.signal]) : failed.signal;
  let assignmentsStaged: Promise<unknown> = Promise.resolve();
  const stage = async (table: TableName) => {
    const rows = () => source.rows(table, courseId, tableSignal);
    if (table === "submissions" && mark && isIncrementalSource(source)) {
      const overlapMs = (options.overlapSeconds ?? DEFAULT_OVERLAP_SECONDS) * 1000;
      const since = new Date(mark.getTime() - overlapMs);
      const changes = submissionChanges(pool, {
        schema,
        runId,
        courseId,
        source,
        since,
        assignmentsStaged,
        signal: tableSignal,
      });
      fetched[table] = await stageRows(pool, schema, TABLES[table], runId, courseId, changes.rows);
      delta = changes.delta();
      return;
    }
    fetched[table] = await stageRows(pool, schema, TABLES[table], runId, courseId, rows());
  };
  try {
    // Every table at once: a course's wall time is its longest list, not the sum of its lists. An
    // incremental run reads the published assignments from staging once they are staged.
    const ordered = [...tables].sort((a, b) => Number(b === "assignments") - Number(a === "assignments"));
    const settled = await Promise.allSettled(
      ordered.map((table) => {
        const staged = stage(table).catch((error: unknown) => {
          failed.abort(error);
          throw error;
        });
        if (table === "assignments") assignmentsStaged = staged;
        return staged;
      }),
    );
    const rejected = settled.find((result) => result.status === "rejected");
    if (rejected) throw failed.signal.aborted ? failed.signal.reason : rejected.reason;
  } finally {
    source.release?.(courseId);
  }
  signal?.throwIfAborted();

  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    // One swap per course at a time across every worker of the fleet.
    await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`easel-course:${schema}:${courseId}`]);
    const state = await client.query<{ state: string }>(
      `SELECT state FROM ${s}.sync_run_courses WHERE run_id = $1 AND course_id = $2 FOR UPDATE`,
      [runId, courseId],
    );
    if (state.rows[0]?.state === "done") {
      await client.query("ROLLBACK");
      await clearStaging(pool, schema, tables, runId, courseId);
      return {
        courseId,
        counts: fetched,
        fetched,
        changes: 0,
        incremental: delta !== undefined,
        alreadyDone: true,
      };
    }
    let changes = 0;
    const counts: Record<string, number> = {};
    for (const table of tables) {
      const swapped =
        table === "submissions" && delta
          ? await mergeSubmissions(client, schema, TABLES[table], runId, courseId, delta)
          : await swapTable(client, schema, TABLES[table], runId, courseId);
      changes += swapped.changes;
      counts[table] = swapped.rows;
    }
    for (const table of tables) {
      const newMark =
        table === "submissions" ? await highWaterMark(client, schema, courseId, fetchStartedAt) : null;
      await client.query(
        `INSERT INTO ${s}.sync_course_state (course_id, kind, last_run_id, synced_at, row_count, high_water_mark)
         VALUES ($1, $2, $3, now(), $4, $5)
         ON CONFLICT (course_id, kind) DO UPDATE
         SET last_run_id = EXCLUDED.last_run_id, synced_at = EXCLUDED.synced_at, row_count = EXCLUDED.row_count,
             high_water_mark = EXCLUDED.high_water_mark`,
        [courseId, table, runId, counts[table], newMark],
      );
    }
    await client.query(
      `UPDATE ${s}.sync_run_courses SET state = 'done', finished_at = now(), counts = $3, changes = $4, error = NULL,
         incremental = $5
       WHERE run_id = $1 AND course_id = $2`,
      [runId, courseId, JSON.stringify(counts), changes, delta !== undefined],
    );
    for (const table of tables) {
      await client.query(
        `DELETE FROM ${s}.${ident(`staging_${TABLES[table].table}`)} WHERE run_id = $1 AND course_id = $2`,
        [runId, courseId],
      );
    }
    await client.query("COMMIT");
    return { courseId, counts, fetched, changes, incremental: delta !== undefined, alreadyDone: false };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

async function clearStaging(
  pool: Pool,
  schema: string,
  tables: readonly TableName[],
  runId: number,
  courseId: number,
): Promise<void> {
  for (const table of tables) {
    await pool.query(
      `DELETE FROM ${ident(schema)}.${ident(`staging_${TABLES[table].table}`)} WHERE run_id = $1 AND course_id = $2`,
      [runId, courseId],
    );
  }
}

/** Streams rows into the staging table in batches (one INSERT ... unnest per batch). */
async function stageRows(
  pool: Pool,
  schema: string,
  spec: TableSpec,
  runId: number,
  courseId: number,
  rows: AsyncIterable<WarehouseRow>,
): Promise<number> {
  const names = spec.columns.map(([name]) => name);
  const casts = spec.columns.map(([, type], i) => `$${i + 2}::${type}[]`);
  const sql = `INSERT INTO ${ident(schema)}.${ident(`staging_${spec.table}`)} (run_id, ${names.map(ident).join(", ")})
    SELECT $1, * FROM unnest(${casts.join(", ")})`;
  let batch: unknown[][] = names.map(() => []);
  let inBatch = 0;
  let total = 0;
  const flush = async () => {
    if (inBatch === 0) return;
    await pool.query(sql, [runId, ...batch]);
    total += inBatch;
    batch = names.map(() => []);
    inBatch = 0;
  };
  for await (const row of rows) {
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      batch[i]!.push(name === "course_id" ? courseId : toSqlValue(row[name]));
    }
    inBatch++;
    if (inBatch >= BATCH_ROWS) await flush();
  }
  await flush();
  return total;
}

function toSqlValue(value: unknown): unknown {
  if (value === undefined || value === "") return null;
  if (typeof value === "object" && value !== null && !(value instanceof Date)) return JSON.stringify(value);
  return value;
}

/** Replaces the course's rows in one table from staging; returns how many keys differ and the rows now held. */
async function swapTable(
  client: PoolClient,
  schema: string,
  spec: TableSpec,
  runId: number,
  courseId: number,
): Promise<{ changes: number; rows: number }> {
  const s = ident(schema);
  const target = `${s}.${ident(spec.table)}`;
  const staging = `${s}.${ident(`staging_${spec.table}`)}`;
  const cols = spec.columns.map(([name]) => ident(name)).join(", ");
  const pk = spec.primaryKey.map(ident).join(", ");
  // Canvas pagination can repeat a row when data changes between pages: keep one per key.
  const order = spec.newest ? ` ORDER BY ${pk}, ${spec.newest}` : "";
  const fresh = `SELECT DISTINCT ON (${pk}) ${cols} FROM ${staging} WHERE run_id = $1 AND course_id = $2${order}`;
  const current = `SELECT ${cols} FROM ${target} WHERE course_id = $2`;
  // A changed row appears on both sides of the difference: count keys, not rows.
  const diff = await client.query<{ n: string }>(
    `WITH f AS (${fresh}), c AS (${current}),
          incoming AS (SELECT * FROM f EXCEPT SELECT * FROM c),
          outgoing AS (SELECT * FROM c EXCEPT SELECT * FROM f)
     SELECT count(*) AS n FROM (SELECT ${pk} FROM incoming UNION SELECT ${pk} FROM outgoing) k`,
    [runId, courseId],
  );
  await client.query(`DELETE FROM ${target} WHERE course_id = $1`, [courseId]);
  const inserted = await client.query(
    `INSERT INTO ${target} (${cols}, sync_run_id) SELECT ${cols}, $1 FROM (${fresh}) f`,
    [runId, courseId],
  );
  return { changes: Number(diff.rows[0]?.n ?? 0), rows: inserted.rowCount ?? 0 };
}
