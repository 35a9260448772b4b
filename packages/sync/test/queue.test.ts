import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { REDIS_URL, requireRedis } from "@easel/test-utils";
import { Queue } from "bullmq";
import { Redis } from "ioredis";
import { afterAll, describe, expect, it } from "vitest";
import { enqueueSync, migrate, runStatus } from "../src/index.js";
import { DATABASE_URL, runStampsPerCourse, testDatabase } from "./helpers.js";

const WORKER = fileURLToPath(new URL("./fixtures/worker-child.mjs", import.meta.url));
// Fails in CI when Redis is down; skips with a warning elsewhere.
const redisUp = await requireRedis("the BullMQ worker cases");
const queueName = `easel-sync-test-${randomBytes(4).toString("hex")}`;

const db = await testDatabase();
const workers: ChildProcess[] = [];
afterAll(async () => {
  for (const w of workers) w.kill("SIGKILL");
  if (redisUp) {
    // Leave nothing behind on the shared Redis.
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue(queueName, { connection });
    await queue.obliterate({ force: true });
    await queue.close();
    connection.disconnect();
  }
  await db.drop();
});

interface WorkerHandle {
  child: ChildProcess;
  lines: string[];
  ready: Promise<void>;
}

function startWorker(): WorkerHandle {
  const child = spawn(process.execPath, [WORKER, DATABASE_URL, REDIS_URL, queueName], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  workers.push(child);
  const lines: string[] = [];
  let buffer = "";
  const ready = new Promise<void>((resolve) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      buffer += chunk;
      const parts = buffer.split("\n");
      buffer = parts.pop()!;
      for (const line of parts) {
        if (line === "ready") resolve();
        else lines.push(line);
      }
    });
  });
  return { child, lines, ready };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error("timed out");
}

describe.skipIf(!redisUp)("sync across worker processes (BullMQ on real Redis)", () => {
  it("3 workers over 30 courses, one killed mid-run: each course synced exactly once, one run in the ledger", async () => {
    await migrate(db.pool, db.schema);
    // The queue name is per test; the schema is per test; workers read both from their job.
    const handles = [startWorker(), startWorker(), startWorker()];
    await Promise.all(handles.map((h) => h.ready));
    const courseIds = Array.from({ length: 30 }, (_, i) => i + 1);
    const { runId, enqueued } = await enqueueSync({
      pool: db.pool,
      queueUrl: REDIS_URL,
      queueName,
      schema: db.schema,
      courseIds,
    });
    expect(enqueued).toBe(30);

    // Kill one worker as soon as it has finished a course: its in-flight jobs stall and must be
    // picked up by the others once their lock expires.
    await waitFor(async () => handles[0]!.lines.length > 0, 30_000);
    handles[0]!.child.kill("SIGKILL");

    await waitFor(async () => (await runStatus(db.pool, db.schema, runId)).state !== "running", 90_000);
    const status = await runStatus(db.pool, db.schema, runId);
    expect(status.state).toBe("succeeded");
    expect(status.courses).toMatchObject({ total: 30, done: 30 });

    const reports = handles
      .flatMap((h) => h.lines)
      .map((l) => l.split(" "))
      .filter(([word, run]) => word === "done" && Number(run) === runId);
    const completions = reports.filter(([, , , already]) => already === "false").map(([, , c]) => Number(c));
    const redone = new Set(
      reports.filter(([, , , already]) => already === "true").map(([, , c]) => Number(c)),
    );
    // No course is completed twice. A course the killed worker swapped in but never got to report
    // is found done by the worker that takes its job over ("already"): reported, not synced again.
    expect(new Set(completions).size).toBe(completions.length);
    const unreported = courseIds.filter((c) => !completions.includes(c));
    for (const course of unreported) expect(redone.has(course), `course ${course}`).toBe(true);

    const stamps = await runStampsPerCourse(db.pool, db.schema);
    for (const course of courseIds) expect(stamps.get(course)).toEqual([runId]);
    const runs = await db.pool.query(`SELECT count(*)::int AS n FROM "${db.schema}".sync_runs`);
    expect(runs.rows[0].n).toBe(1);
  }, 120_000);
});
