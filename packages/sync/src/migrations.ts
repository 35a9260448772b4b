import type { Pool, PoolClient } from "pg";
import { ident, TABLES } from "./tables.js";

export interface Migration {
  version: number;
  name: string;
  sql(schema: string): string;
}

function tableDdl(schema: string): string {
  return Object.values(TABLES)
    .map((spec) => {
      const cols = spec.columns.map(([name, type]) => `${ident(name)} ${type}`).join(",\n  ");
      const pk = spec.primaryKey.map(ident).join(", ");
      const target = `${ident(schema)}.${ident(spec.table)}`;
      // Staging mirrors the target plus the run that is loading it; UNLOGGED because a crash
      // only loses data the next attempt refetches anyway.
      const staging = `${ident(schema)}.${ident(`staging_${spec.table}`)}`;
      return `CREATE TABLE ${target} (
  ${cols},
  sync_run_id bigint NOT NULL,
  PRIMARY KEY (${pk})
);
CREATE INDEX ON ${target} (course_id);
CREATE UNLOGGED TABLE ${staging} (
  run_id bigint NOT NULL,
  ${cols}
);
CREATE INDEX ON ${staging} (run_id, course_id);`;
    })
    .join("\n");
}

/** Versioned migrations; never edit one that has shipped, add the next. */
export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: "ledger and warehouse tables",
    sql: (schema) => `
CREATE TABLE ${ident(schema)}.sync_runs (
  id bigserial PRIMARY KEY,
  started_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz,
  state text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted')),
  kinds text[] NOT NULL,
  course_ids bigint[] NOT NULL,
  counts jsonb NOT NULL DEFAULT '{}',
  changes bigint NOT NULL DEFAULT 0,
  error text,
  mode text NOT NULL DEFAULT 'local'
);
CREATE TABLE ${ident(schema)}.sync_run_courses (
  run_id bigint NOT NULL REFERENCES ${ident(schema)}.sync_runs (id),
  course_id bigint NOT NULL,
  state text NOT NULL CHECK (state IN ('pending', 'running', 'done', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  started_at timestamptz,
  finished_at timestamptz,
  counts jsonb NOT NULL DEFAULT '{}',
  changes bigint NOT NULL DEFAULT 0,
  error text,
  PRIMARY KEY (run_id, course_id)
);
CREATE TABLE ${ident(schema)}.sync_course_state (
  course_id bigint NOT NULL,
  kind text NOT NULL,
  last_run_id bigint NOT NULL REFERENCES ${ident(schema)}.sync_runs (id),
  synced_at timestamptz NOT NULL,
  row_count bigint NOT NULL,
  PRIMARY KEY (course_id, kind)
);
${tableDdl(schema)}
`,
  },
  {
    version: 2,
    name: "incremental sync: per-course high-water mark, run mode per course",
    // Written only inside a course's swap transaction, so it never runs ahead of the rows it describes.
    sql: (schema) => `
ALTER TABLE ${ident(schema)}.sync_course_state ADD COLUMN high_water_mark timestamptz;
ALTER TABLE ${ident(schema)}.sync_run_courses ADD COLUMN incremental boolean NOT NULL DEFAULT false;
`,
  },
];

/** The newest schema version this build knows. */
export const LATEST_SCHEMA_VERSION = MIGRATIONS.at(-1)!.version;

/**
 * Applies the migrations not applied yet, under an advisory lock so concurrent workers starting
 * together migrate once. Returns the versions it applied.
 */
export async function migrate(pool: Pool, schema: string): Promise<number[]> {
  const client = await pool.connect();
  try {
    await client.query("SELECT pg_advisory_lock(hashtext($1))", [`easel-migrate:${schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${ident(schema)}`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${ident(schema)}.schema_migrations (
        version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
      const applied = new Set(await appliedVersions(client, schema));
      const done: number[] = [];
      for (const migration of MIGRATIONS) {
        if (applied.has(migration.version)) continue;
        await client.query("BEGIN");
        try {
          await client.query(migration.sql(schema));
          await client.query(
            `INSERT INTO ${ident(schema)}.schema_migrations (version, name) VALUES ($1, $2)`,
            [migration.version, migration.name],
          );
          await client.query("COMMIT");
        } catch (error) {
          await client.query("ROLLBACK");
          throw error;
        }
        done.push(migration.version);
      }
      return done;
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtext($1))", [`easel-migrate:${schema}`]);
    }
  } finally {
    client.release();
  }
}

export async function currentSchemaVersion(pool: Pool | PoolClient, schema: string): Promise<number> {
  const exists = await pool.query("SELECT to_regclass($1) AS t", [`${ident(schema)}.schema_migrations`]);
  if (!exists.rows[0]?.t) return 0;
  const versions = await appliedVersions(pool, schema);
  return versions.length ? Math.max(...versions) : 0;
}

async function appliedVersions(client: Pool | PoolClient, schema: string): Promise<number[]> {
  const result = await client.query<{ version: number }>(
    `SELECT version FROM ${ident(schema)}.schema_migrations ORDER BY version`,
  );
  return result.rows.map((r) => r.version);
}
