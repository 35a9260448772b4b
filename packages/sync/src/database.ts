import pg from "pg";
import { DATABASE_UNAVAILABLE, redactDatabaseUrl, SyncError } from "./errors.js";

/**
 * Opens a connection pool and checks it answers, so a wrong URL or a database that is down
 * fails at once with the address (never the password) instead of on the first course.
 */
export async function openDatabase(url: string, options: { max?: number } = {}): Promise<pg.Pool> {
  const pool = new pg.Pool({ connectionString: url, max: options.max ?? 10, connectionTimeoutMillis: 5_000 });
  // An idle client losing its connection must not crash the process.
  pool.on("error", () => undefined);
  try {
    await pool.query("SELECT 1");
    return pool;
  } catch (cause) {
    await pool.end().catch(() => undefined);
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new SyncError(
      DATABASE_UNAVAILABLE,
      `Cannot reach PostgreSQL at ${redactDatabaseUrl(url)}: ${reason.replaceAll(url, redactDatabaseUrl(url))}`,
      { cause },
    );
  }
}
