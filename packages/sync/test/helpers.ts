import { randomBytes } from "node:crypto";
import pg from "pg";

export const DATABASE_URL = process.env.DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A fresh schema per test file, dropped afterwards, so files run in parallel on one database. */
export async function testDatabase(): Promise<{ pool: pg.Pool; schema: string; drop(): Promise<void> }> {
  const schema = `easel_test_${randomBytes(5).toString("hex")}`;
  const pool = new pg.Pool({ connectionString: DATABASE_URL, max: 8 });
  return {
    pool,
    schema,
    async drop() {
      await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await pool.end();
    },
  };
}

export { type FakeSourceOptions, fakeSource } from "./fixtures/fake-source.mjs";

/** Each course's rows in every table, as a stable fingerprint: compares "before" and "after" states. */
export async function courseFingerprints(pool: pg.Pool, schema: string): Promise<Map<number, string>> {
  const tables = [
    "courses",
    "users",
    "assignments",
    "enrollments",
    "grades",
    "submissions",
    "attendance",
    "engagement",
  ];
  const parts = tables.map(
    (t) => `SELECT course_id, '${t}' AS t, md5(string_agg(x::text, '|' ORDER BY x::text)) AS h
            FROM (SELECT course_id, (to_jsonb(r) - 'sync_run_id') AS x FROM "${schema}"."${t}" r) q GROUP BY course_id`,
  );
  const result = await pool.query<{ course_id: string; t: string; h: string }>(
    `SELECT course_id, t, h FROM (${parts.join(" UNION ALL ")}) u ORDER BY course_id, t`,
  );
  const map = new Map<number, string>();
  for (const row of result.rows) {
    const id = Number(row.course_id);
    map.set(id, `${map.get(id) ?? ""}${row.t}:${row.h};`);
  }
  return map;
}

/** The set of run ids stamped on a course's rows (one run per course, always). */
export async function runStampsPerCourse(pool: pg.Pool, schema: string): Promise<Map<number, number[]>> {
  const tables = ["courses", "users", "enrollments", "grades", "submissions", "attendance", "engagement"];
  const result = await pool.query<{ course_id: string; runs: string[] }>(
    `SELECT course_id, array_agg(DISTINCT sync_run_id) AS runs FROM (${tables
      .map((t) => `SELECT course_id, sync_run_id FROM "${schema}"."${t}"`)
      .join(" UNION ALL ")}) u GROUP BY course_id`,
  );
  return new Map(result.rows.map((r) => [Number(r.course_id), r.runs.map(Number)]));
}
