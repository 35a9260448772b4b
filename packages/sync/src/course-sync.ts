import type { Pool, PoolClient } from "pg";
import {
  highWaterMarkSql,
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
    /** Caps the high-water mark at the moment fetching started. @default the wall clock */
    clock?: { now(): number };
    signal?: AbortSignal;
  },
): Promise<CourseSyncResult> {
  const { schema, runId, courseId, tables, source, signal } = options;
  const fetchStartedAt = new Date(options.clock?.now() ?? Date.now());
  const s = ident(schema);
  // Three independent statements at once: on a busy database every round trip is the course's latency.
  const [mark] = await Promise.all([
    !options.full && tables.includes("submissions") && isIncrementalSource(source)
      ? readHighWaterMark(pool, schema, courseId)
      : undefined,
    pool.query(
      `UPDATE ${s}.sync_run_courses SET state = 'running', attempts = attempts + 1, started_at = now(), error = NULL
       WHERE run_id = $1 AND course_id = $2 AND state <> 'done'`,
      [runId, courseId],
    ),
    clearStaging(pool, schema, tables, runId, courseId),
  ]);

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
    // One swap per course at a time across every worker of the fleet. BEGIN and the lock go as one
    // simple query (one round trip); the key is a literal escaped by the driver.
    await client.query(
      `BEGIN; SELECT pg_advisory_xact_lock(hashtext(${client.escapeLiteral(`easel-course:${schema}:${courseId}`)}))`,
    );
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
    const merged = tables.includes("submissions") && delta !== undefined;
    const replaced = tables.filter((table) => !(table === "submissions" && merged));
    const swaps = await swapTables(client, schema, replaced, runId, courseId);
    if (merged)
      swaps.set(
        "submissions",
        await mergeSubmissions(client, schema, TABLES.submissions, runId, courseId, delta!),
      );
    for (const table of tables) {
      const swapped = swaps.get(table)!;
      changes += swapped.changes;
      counts[table] = swapped.rows;
    }
    // One statement: the new mark, the ledger's rows and the staging cleanup.
    const stagingDeletes = tables.map(
      (table, i) =>
        `d${i} AS (DELETE FROM ${s}.${ident(`staging_${TABLES[table].table}`)} WHERE run_id = $2 AND course_id = $1)`,
    );
    await client.query(
      `WITH m AS (${highWaterMarkSql(schema, "$1", "$6")}),
       st AS (INSERT INTO ${s}.sync_course_state (course_id, kind, last_run_id, synced_at, row_count, high_water_mark)
         SELECT $1, kind, $2, now(), row_count, CASE WHEN kind = 'submissions' THEN (SELECT mark FROM m) END
         FROM unnest($3::text[], $4::bigint[]) AS u(kind, row_count)
         ON CONFLICT (course_id, kind) DO UPDATE
         SET last_run_id = EXCLUDED.last_run_id, synced_at = EXCLUDED.synced_at, row_count = EXCLUDED.row_count,
             high_water_mark = EXCLUDED.high_water_mark),
       done AS (UPDATE ${s}.sync_run_courses SET state = 'done', finished_at = now(), counts = $5, changes = $7,
         error = NULL, incremental = $8 WHERE run_id = $2 AND course_id = $1),
       ${stagingDeletes.join(",\n       ")}
       SELECT 1`,
      [
        courseId,
        runId,
        tables,
        tables.map((table) => counts[table]),
        JSON.stringify(counts),
        fetchStartedAt,
        changes,
        delta !== undefined,
      ],
    );
    await client.query("COMMIT");
    return { courseId, counts, fetched, changes, incremental: delta !== undefined, alreadyDone: false };
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  } finally {
    client.release();
  }
}

/** Empties the course's staging rows of every table in one statement (one round trip). */
async function clearStaging(
  db: Pool | PoolClient,
  schema: string,
  tables: readonly TableName[],
  runId: number,
  courseId: number,
): Promise<void> {
  if (tables.length === 0) return;
  const deletes = tables.map(
    (table, i) =>
      `d${i} AS (DELETE FROM ${ident(schema)}.${ident(`staging_${TABLES[table].table}`)} WHERE run_id = $1 AND course_id = $2)`,
  );
  await db.query(`WITH ${deletes.join(", ")} SELECT 1`, [runId, courseId]);
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

/**
 * Replaces the course's rows in these tables from staging; returns, per table, how many keys differ
 * and the rows now held. Two statements whatever the number of tables (a round trip is the costly part
 * of a small course on a busy database): the first counts each table's differences and deletes its
 * rows (its sub-statements share one snapshot, so each count sees the rows before the delete), the
 * second inserts the staged rows.
 */
async function swapTables(
  client: PoolClient,
  schema: string,
  tables: readonly TableName[],
  runId: number,
  courseId: number,
): Promise<Map<TableName, { changes: number; rows: number }>> {
  const swapped = new Map<TableName, { changes: number; rows: number }>();
  if (tables.length === 0) return swapped;
  const s = ident(schema);
  const parts = tables.map((table) => {
    const spec = TABLES[table];
    const target = `${s}.${ident(spec.table)}`;
    const staging = `${s}.${ident(`staging_${spec.table}`)}`;
    const cols = spec.columns.map(([name]) => ident(name)).join(", ");
    const pk = spec.primaryKey.map(ident).join(", ");
    // Canvas pagination can repeat a row when data change between pages: keep one per key.
    const order = spec.newest ? ` ORDER BY ${pk}, ${spec.newest}` : "";
    const fresh = `SELECT DISTINCT ON (${pk}) ${cols} FROM ${staging} WHERE run_id = $1 AND course_id = $2${order}`;
    return { target, cols, pk, fresh };
  });
  // A changed row appears on both sides of the difference: count keys, not rows.
  const diffs = parts.map(
    ({ target, cols, pk, fresh }, i) =>
      `f${i} AS (${fresh}), c${i} AS (SELECT ${cols} FROM ${target} WHERE course_id = $2),
       n${i} AS (SELECT count(*) AS n FROM (
         SELECT ${pk} FROM (SELECT * FROM f${i} EXCEPT SELECT * FROM c${i}) incoming
         UNION SELECT ${pk} FROM (SELECT * FROM c${i} EXCEPT SELECT * FROM f${i}) outgoing) k),
       d${i} AS (DELETE FROM ${target} WHERE course_id = $2)`,
  );
  const counted = await client.query<Record<string, string>>(
    `WITH ${diffs.join(",\n")} SELECT ${parts.map((_, i) => `(SELECT n FROM n${i}) AS n${i}`).join(", ")}`,
    [runId, courseId],
  );
  const inserts = parts.map(
    ({ target, cols, fresh }, i) =>
      `i${i} AS (INSERT INTO ${target} (${cols}, sync_run_id) SELECT ${cols}, $1 FROM (${fresh}) f RETURNING 1)`,
  );
  const inserted = await client.query<Record<string, string>>(
    `WITH ${inserts.join(",\n")} SELECT ${parts.map((_, i) => `(SELECT count(*) FROM i${i}) AS r${i}`).join(", ")}`,
    [runId, courseId],
  );
  tables.forEach((table, i) => {
    swapped.set(table, {
      changes: Number(counted.rows[0]?.[`n${i}`] ?? 0),
      rows: Number(inserted.rows[0]?.[`r${i}`] ?? 0),
    });
  });
  return swapped;
}
