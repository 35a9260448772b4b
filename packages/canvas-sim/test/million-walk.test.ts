import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SimStats } from "../src/index.js";
import { type ChildSim, startChildSim } from "./child.js";

/**
 * The benchmark case: a 5,000-student x 200-assignment course (1,000,000 submissions) walked with
 * student_ids[]=all at per_page=100 (10,000 bookmark pages) against a simulator in its own process,
 * whose RSS is read from /__sim/stats as the walk goes.
 */
const STUDENTS = 5000;
const ASSIGNMENTS = 200;

let sim: ChildSim;
beforeAll(async () => {
  sim = await startChildSim({
    courses: 1,
    studentsPerCourse: STUDENTS,
    assignmentsPerCourse: ASSIGNMENTS,
    throttle: false,
  });
});
afterAll(() => sim?.stop());

async function simStats(): Promise<SimStats> {
  return (await (await fetch(`${sim.url}/__sim/stats`)).json()) as SimStats;
}

describe("a 1,000,000-submission course", () => {
  it("pages through every submission exactly once with flat simulator memory", {
    timeout: 300_000,
  }, async () => {
    const summary = (await (await fetch(`${sim.url}/__sim/data/courses/1/summary`)).json()) as {
      submissions: number;
      submissionIdFirst: number;
      submissionIdLast: number;
      submissionIdSum: number;
    };
    expect(summary.submissions).toBe(1_000_000);
    let expectedXor = 0;
    for (let id = summary.submissionIdFirst; id <= summary.submissionIdLast; id++) expectedXor ^= id;

    const before = await simStats();
    const startRss = before.memory.rss;
    const started = performance.now();
    const headers = { Authorization: `Bearer ${sim.developerToken}` };
    let next: string | undefined =
      `${sim.url}/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=100`;
    let count = 0;
    let sum = 0;
    let xor = 0;
    let previous = 0;
    let ordered = true;
    let pages = 0;
    let peakRss = startRss;
    const rssSamples: number[] = [];
    while (next) {
      const response: Response = await fetch(next, { headers });
      expect(response.status).toBe(200);
      const rows = (await response.json()) as Array<{ id: number; user_id: number; assignment_id: number }>;
      for (const row of rows) {
        count++;
        sum += row.id;
        xor ^= row.id;
        if (row.id <= previous) ordered = false;
        previous = row.id;
      }
      pages++;
      const link = response.headers.get("link") ?? "";
      expect(link).not.toContain('rel="last"');
      next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
      if (pages % 500 === 0) {
        const rss = (await simStats()).memory.rss;
        rssSamples.push(rss);
        peakRss = Math.max(peakRss, rss);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const end = await simStats();
    peakRss = Math.max(peakRss, end.memory.rss);

    expect(pages).toBe(10_000);
    expect(count).toBe(1_000_000);
    expect(ordered).toBe(true); // strictly increasing ids + the count = every row exactly once
    expect(sum).toBe(summary.submissionIdSum);
    expect(xor).toBe(expectedXor);
    expect(previous).toBe(summary.submissionIdLast);
    expect(end.requests.byRoute["GET /api/v1/courses/:course_id/students/submissions"]).toBe(10_000);

    // Flat memory: no growth with progress (last quarter vs first quarter) and a small peak.
    const quarter = Math.max(1, Math.floor(rssSamples.length / 4));
    const early = Math.max(...rssSamples.slice(0, quarter));
    const late = Math.max(...rssSamples.slice(-quarter));
    expect(late).toBeLessThan(early + 40 * 1024 * 1024);
    expect(peakRss).toBeLessThan(256 * 1024 * 1024);
    const cpuSeconds = (end.cpu.user + end.cpu.system - before.cpu.user - before.cpu.system) / 1e6;
    console.log(
      `1M walk: ${pages} pages in ${seconds.toFixed(1)} s (${Math.round(pages / seconds)} req/s), ` +
        `simulator CPU ${cpuSeconds.toFixed(1)} s; simulator RSS start ${(startRss / 2 ** 20).toFixed(0)} MiB, ` +
        `peak ${(peakRss / 2 ** 20).toFixed(0)} MiB`,
    );
  });
});
