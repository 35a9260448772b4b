import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXPORT_KINDS, exportCourses } from "../src/index.js";
import { clientFor, startSim } from "./helpers.js";

let sim: CanvasSim;
let dir: string;
const COURSES = [1, 2, 3, 4, 5, 6];

beforeAll(async () => {
  sim = await startSim({ seed: 11, studentsPerCourse: 60, assignmentsPerCourse: 8 });
  dir = tempDir("easel-export-test-");
});

afterAll(async () => {
  await sim?.close();
});

describe("faults injected at a few percent (5xx, dropped connections, throttling, truncated bodies)", () => {
  it("every kind's output is byte for byte the clean run's", async () => {
    const clean = new Map<string, Buffer>();
    const cleanClient = clientFor(sim);
    for (const kind of EXPORT_KINDS) {
      const out = join(dir, `${kind}.clean.csv`);
      await exportCourses({
        client: cleanClient,
        kind,
        courseIds: COURSES,
        format: "csv",
        output: out,
        concurrency: 3,
      });
      clean.set(kind, await readFile(out));
    }
    await cleanClient.close();

    sim.resetStats();
    sim.faults.add("5xx:0.04,drop:0.02,throttle:0.03,truncate:0.01");
    const client = clientFor(sim);
    try {
      for (const kind of EXPORT_KINDS) {
        for (const format of ["csv"] as const) {
          const out = join(dir, `${kind}.faulty.${format}`);
          await exportCourses({ client, kind, courseIds: COURSES, format, output: out, concurrency: 8 });
          expect((await readFile(out)).equals(clean.get(kind)!), `${kind} differs from the clean run`).toBe(
            true,
          );
        }
      }
      // The faults really happened and the client really recovered from them.
      const stats = client.stats();
      const byStatus = sim.stats().requests.byStatus;
      const serverErrors = (byStatus["500"] ?? 0) + (byStatus["502"] ?? 0) + (byStatus["503"] ?? 0);
      expect(serverErrors).toBeGreaterThan(0);
      expect(byStatus["429"] ?? 0).toBeGreaterThan(0);
      expect(stats.retries).toBeGreaterThan(0);
      expect(stats.throttled).toBeGreaterThan(0);
    } finally {
      sim.faults.clear();
      await client.close();
    }
  });

  it("NDJSON under faults equals NDJSON without them", async () => {
    const cleanClient = clientFor(sim);
    const cleanOut = join(dir, "sub.clean.ndjson");
    await exportCourses({
      client: cleanClient,
      kind: "submissions",
      courseIds: COURSES,
      format: "ndjson",
      output: cleanOut,
    });
    await cleanClient.close();
    sim.faults.add("5xx:0.05,drop:0.02,throttle:0.03");
    const client = clientFor(sim);
    try {
      const out = join(dir, "sub.faulty.ndjson");
      await exportCourses({
        client,
        kind: "submissions",
        courseIds: COURSES,
        format: "ndjson",
        output: out,
        concurrency: 8,
      });
      expect((await readFile(out)).equals(await readFile(cleanOut))).toBe(true);
    } finally {
      sim.faults.clear();
      await client.close();
    }
  });
});
