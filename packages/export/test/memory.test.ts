import { execFile } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createCanvasSim } from "@easel/canvas-sim";
import { tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const CHILD = fileURLToPath(new URL("./fixtures/export-child.mjs", import.meta.url));

interface ChildResult {
  rows: number;
  bytes: number;
  ms: number;
  maxRssMb: number;
}

/** Exports every submission of `courses` courses (100 students x 50 assignments each) in a child process. */
async function measure(courses: number, dir: string): Promise<ChildResult> {
  const sim = await createCanvasSim({
    seed: 2,
    courses,
    studentsPerCourse: 100,
    assignmentsPerCourse: 50,
    throttle: false,
  });
  try {
    const options = {
      baseUrl: sim.url,
      token: sim.developerToken,
      kind: "submissions",
      courseIds: Array.from({ length: courses }, (_, i) => i + 1),
      format: "csv",
      output: join(dir, `rss-${courses}.csv`),
      concurrency: 4,
    };
    const { stdout } = await run(process.execPath, [CHILD, JSON.stringify(options)], { cwd: dir });
    return JSON.parse(stdout) as ChildResult;
  } finally {
    await sim.close();
  }
}

describe("memory stays flat in the size of the export", () => {
  it("peak RSS for 200,000 submissions is about that of 20,000", { timeout: 180_000 }, async () => {
    const dir = tempDir("easel-export-test-");
    const small = await measure(4, dir);
    const large = await measure(40, dir);
    expect(small.rows).toBe(20_000);
    expect(large.rows).toBe(200_000);
    // Figures for the README: `pnpm vitest run test/memory.test.ts` prints them.
    console.log(
      `peak RSS: ${small.rows} submissions ${small.maxRssMb} MB (${small.ms} ms); ` +
        `${large.rows} submissions ${large.maxRssMb} MB (${large.ms} ms)`,
    );
    expect(large.maxRssMb).toBeLessThan(small.maxRssMb * 1.5);
    expect(large.maxRssMb - small.maxRssMb).toBeLessThan(40);
  });
});
