import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate, runStatus, runSync, SYNC_KINDS } from "../src/index.js";
import { courseFingerprints, fakeSource, runStampsPerCourse, testDatabase } from "./helpers.js";

const db = await testDatabase();
afterAll(() => db.drop());
beforeAll(async () => {
  expect(await migrate(db.pool, db.schema)).toEqual([1, 2]);
});

describe("easel sync into PostgreSQL", () => {
  it("migrations apply once: a second migrate applies nothing", async () => {
    expect(await migrate(db.pool, db.schema)).toEqual([]);
  });

  it("writes every kind of every course, stamped with the run, and records the run in the ledger", async () => {
    const outcome = await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource(),
      courseIds: [1, 2, 3],
    });
    expect(outcome.status.state).toBe("succeeded");
    expect(outcome.status.courses).toMatchObject({ total: 3, done: 3 });
    expect(outcome.status.counts).toMatchObject({
      grades: 60,
      submissions: 300,
      engagement: 60,
      attendance: 60,
    });
    const stamps = await runStampsPerCourse(db.pool, db.schema);
    for (const id of [1, 2, 3]) expect(stamps.get(id)).toEqual([outcome.runId]);
    const state = await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".sync_course_state`);
    expect(state.rows[0].n).toBe(3 * (SYNC_KINDS.length + 3));
  });

  it("is idempotent: the same sync again changes no row and reports 0 changes", async () => {
    const before = await courseFingerprints(db.pool, db.schema);
    const outcome = await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource(),
      courseIds: [1, 2, 3],
    });
    expect(outcome.status.changes).toBe(0);
    expect(await courseFingerprints(db.pool, db.schema)).toEqual(before);
  });

  it("counts changed rows when Canvas data changed", async () => {
    const outcome = await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource({ version: 2 }),
      courseIds: [1, 2, 3],
    });
    expect(outcome.status.changes).toBeGreaterThan(0);
  });

  it("a course that fails mid-fetch keeps its previous rows; the others commit; a rerun resumes only it", async () => {
    const before = await courseFingerprints(db.pool, db.schema);
    const failing = fakeSource({
      version: 3,
      failure: { courseId: 2, table: "submissions", afterRows: 50, error: new Error("network went away") },
    });
    const first = await runSync({ pool: db.pool, schema: db.schema, source: failing, courseIds: [1, 2, 3] });
    expect(first.status.state).toBe("failed");
    expect(first.status.failedCourses).toEqual([{ courseId: 2, error: "network went away" }]);
    const after = await courseFingerprints(db.pool, db.schema);
    expect(after.get(2)).toBe(before.get(2));
    expect(after.get(1)).not.toBe(before.get(1));

    const resumed = await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource({ version: 3 }),
      courseIds: [1, 2, 3],
    });
    expect(resumed.runId).toBe(first.runId);
    expect(resumed.resumed).toBe(true);
    expect(resumed.skippedAlreadyDone).toBe(2);
    expect(resumed.synced).toBe(1);
    expect(resumed.status.state).toBe("succeeded");
    const stamps = await runStampsPerCourse(db.pool, db.schema);
    for (const id of [1, 2, 3]) expect(stamps.get(id)).toEqual([first.runId]);
  });

  it("re-authorization needed stops the run: finished courses stay committed, the rest untouched", async () => {
    const before = await courseFingerprints(db.pool, db.schema);
    const revoked = Object.assign(new Error("The refresh token was revoked."), { code: "REAUTH_REQUIRED" });
    const source = fakeSource({
      version: 4,
      failure: { courseId: 3, table: "grades", afterRows: 5, error: revoked },
    });
    const error = await runSync({
      pool: db.pool,
      schema: db.schema,
      source,
      courseIds: [1, 2, 3],
      concurrency: 1,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "REAUTH_REQUIRED", runId: expect.any(Number) });
    const runId = (error as { runId: number }).runId;
    expect((await runStatus(db.pool, db.schema, runId)).state).toBe("interrupted");
    const after = await courseFingerprints(db.pool, db.schema);
    expect(after.get(3)).toBe(before.get(3));
    expect(after.get(1)).not.toBe(before.get(1));

    const resumed = await runSync({
      pool: db.pool,
      schema: db.schema,
      source: fakeSource({ version: 4 }),
      courseIds: [1, 2, 3],
    });
    expect(resumed.runId).toBe(runId);
    expect(resumed.synced).toBe(1);
    expect(resumed.status.state).toBe("succeeded");
  });

  it("refuses to run on an unmigrated schema with the command to fix it", async () => {
    await expect(
      runSync({ pool: db.pool, schema: `${db.schema}_none`, source: fakeSource(), courseIds: [1] }),
    ).rejects.toMatchObject({
      code: "MIGRATION_REQUIRED",
      message: expect.stringContaining("easel sync migrate"),
    });
  });
});
