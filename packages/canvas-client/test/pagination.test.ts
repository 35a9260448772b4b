import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { CanvasClient, type Enrollment, type Submission } from "../src/index.js";
import { type ChildSim, startChildSim, startSim } from "./helpers/sim.js";

const ENROLLMENTS = "GET /api/v1/courses/:course_id/enrollments";
const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";

describe("pagination against the simulator", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 2, studentsPerCourse: 250, assignmentsPerCourse: 3 });
  });
  afterAll(async () => {
    await sim.close();
  });

  function client(options: Partial<ConstructorParameters<typeof CanvasClient>[0]> = {}) {
    return new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken, ...options });
  }

  it.each([3, 7, 100])(
    "returns every enrollment exactly once, in Canvas's order, with perPage %i",
    async (perPage) => {
      const truth = sim.data.enrollments(2).map((e) => e.id);
      const canvas = client({ perPage: perPage });
      sim.resetStats();
      const ids: number[] = [];
      for await (const e of canvas.enrollments.forCourse(2)) ids.push(e.id);
      expect(ids).toEqual(truth);
      expect(new Set(ids).size).toBe(ids.length);
      // One request per page, and never a page number the client made up.
      expect(sim.stats().requests.byRoute[ENROLLMENTS]).toBe(Math.ceil(truth.length / perPage));
      await canvas.close();
    },
  );

  it("returns every submission exactly once through bookmark pages (non-grouped) and grouped pages", async () => {
    const canvas = client({ perPage: 40 });
    const truth = [...sim.data.submissions(1)].map((s) => s.id);
    const flat: number[] = [];
    for await (const s of canvas.submissions.forStudents(1, { studentIds: "all" })) flat.push(s.id);
    expect(flat).toEqual(truth);

    const grouped = new Map<number, number[]>();
    for await (const g of canvas.submissions.forStudents(1, { studentIds: "all", grouped: true })) {
      expect(grouped.has(g.user_id)).toBe(false);
      grouped.set(
        g.user_id,
        g.submissions.map((s: Submission) => s.id),
      );
    }
    expect([...grouped.keys()].sort((a, b) => a - b)).toEqual(sim.data.studentIds(1));
    expect([...grouped.values()].flat().sort((a, b) => a - b)).toEqual([...truth].sort((a, b) => a - b));
    await canvas.close();
  });

  it("caps per_page at 100: perPage 500 walks 250+ rows in pages of at most 100", async () => {
    const canvas = client({ perPage: 500 });
    sim.resetStats();
    const sizes: number[] = [];
    let rows = 0;
    for await (const page of canvas.pages<Enrollment>("/api/v1/courses/1/enrollments")) {
      sizes.push(page.items.length);
      rows += page.items.length;
    }
    expect(rows).toBe(sim.data.enrollments(1).length);
    expect(Math.max(...sizes)).toBe(100);
    expect(sim.stats().requests.byRoute[ENROLLMENTS]).toBe(Math.ceil(rows / 100));
    // An explicit per_page in the query is clamped too.
    sim.resetStats();
    const few = await canvas.collect<Enrollment>("/api/v1/courses/1/enrollments", {
      per_page: 1000,
      type: ["TeacherEnrollment"],
    });
    expect(few.map((e) => e.id)).toEqual(
      sim.data.enrollments(1, { type: ["TeacherEnrollment"] }).map((e) => e.id),
    );
    expect(sim.stats().requests.byRoute[ENROLLMENTS]).toBe(1);
    await canvas.close();
  });

  it("an early break cancels the prefetched request: the simulator sees it closed and nothing after", async () => {
    const canvas = client({ perPage: 10 });
    // Every page takes 1 s, so the prefetch of page 2 is still in flight at `break`.
    sim.faults.add({ fault: "slow", latencyMs: 1000, route: SUBMISSIONS });
    sim.resetStats();
    let seen = 0;
    try {
      for await (const _ of canvas.submissions.forStudents(1, { studentIds: "all" })) {
        if (++seen === 3) {
          // Break only once the prefetch request has reached the simulator.
          await vi.waitFor(() => expect(sim.stats().inFlight).toBe(1), { timeout: 1000, interval: 5 });
          break;
        }
      }
      // Both sides let go of the prefetch request long before its 1 s latency ended.
      await vi.waitFor(
        () => {
          expect(canvas.stats().inFlight).toBe(0);
          expect(sim.stats().inFlight).toBe(0);
        },
        { timeout: 200, interval: 5 },
      );
      expect(canvas.stats().requests).toBe(2);
      // Once the cancelled handler has finished (its latency over), the simulator has counted
      // page 1 and the cancelled page 2, and nothing arrives afterwards.
      await vi.waitFor(() => expect(sim.stats().requests.byRoute[SUBMISSIONS]).toBe(2), {
        timeout: 3000,
        interval: 10,
      });
      const after = sim.stats().requests.byRoute[SUBMISSIONS] ?? 0;
      expect(after).toBeGreaterThanOrEqual(1);
      expect(after).toBeLessThanOrEqual(2);
      expect(sim.stats().requests.total).toBe(after);
      expect(canvas.stats().requests).toBe(2);
    } finally {
      sim.faults.clear();
      await canvas.close();
    }
  });

  it("the caller's AbortSignal stops a walk with the signal's reason", async () => {
    const canvas = client({ perPage: 5 });
    const controller = new AbortController();
    let seen = 0;
    const walk = (async () => {
      for await (const _ of canvas.enrollments.forCourse(1, {}, { signal: controller.signal })) {
        if (++seen === 12) controller.abort(new Error("enough"));
      }
    })();
    await expect(walk).rejects.toThrow("enough");
    expect(seen).toBeGreaterThanOrEqual(12);
    expect(seen).toBeLessThanOrEqual(15);
    await canvas.close();
  });

  it("prefetch 0 fetches on demand; prefetch 2 keeps at most three pages in hand", async () => {
    for (const prefetch of [0, 2]) {
      const canvas = client({ perPage: 10 });
      sim.resetStats();
      let pages = 0;
      // The walk pauses once `prefetch` pages wait for us: see how far it ran ahead by then.
      let paused!: () => void;
      const prefetchPaused = new Promise<void>((resolve) => {
        paused = resolve;
      });
      const onPrefetchPause = (buffered: number) => {
        if (buffered === prefetch) paused();
      };
      for await (const page of canvas.pages("/api/v1/courses/1/enrollments", undefined, {
        prefetch,
        onPrefetchPause,
      })) {
        pages++;
        if (page.index === 0) {
          await prefetchPaused;
          expect(sim.stats().requests.byRoute[ENROLLMENTS]).toBe(1 + prefetch);
        }
      }
      expect(pages).toBe(Math.ceil(sim.data.enrollments(1).length / 10));
      await canvas.close();
    }
  });
});

describe("memory stays flat on a long walk (simulator in a child process)", () => {
  // 5,000 students x 40 assignments = 200,000 submissions by default; the 1,000,000-row walk
  // (12-40 s on 2 cores, depending on load) is scripts/walk-1m.mjs, or EASEL_BIG_WALK_ROWS=1000000.
  const students = 5000;
  const assignments = Math.max(1, Math.round(Number(process.env.EASEL_BIG_WALK_ROWS ?? 200_000) / students));
  let child: ChildSim;
  beforeAll(async () => {
    child = await startChildSim(
      { seed: 5, courses: 1, studentsPerCourse: students, assignmentsPerCourse: assignments },
      1,
    );
  });
  afterAll(async () => {
    await child?.stop();
  });

  it(`walks ${students * assignments} submissions exactly once with a flat RSS`, async () => {
    const canvas = new CanvasClient({ baseUrl: child.url, auth: child.developerToken });
    const { submissionIdFirst: first, submissionIdLast: last, submissions: expected } = child.summary;
    expect(expected).toBe(students * assignments);
    const seen = new Uint8Array(last - first + 1);
    let rows = 0;
    let duplicates = 0;
    const baseline = process.memoryUsage().rss;
    let peak = baseline;
    let peakAtQuarter = 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, process.memoryUsage().rss);
    }, 25);
    for await (const s of canvas.submissions.forStudents(1, { studentIds: "all" })) {
      const i = s.id - first;
      if (seen[i]) duplicates++;
      seen[i] = 1;
      if (++rows === expected / 4) peakAtQuarter = peak;
    }
    clearInterval(sampler);
    peak = Math.max(peak, process.memoryUsage().rss);
    const mb = (n: number) => Math.round(n / 1048576);
    console.log(
      `${rows} rows: rss baseline ${mb(baseline)} MB, peak after 25% ${mb(peakAtQuarter)} MB, peak ${mb(peak)} MB, ` +
        `${mb(canvas.stats().bytes)} MB received in ${canvas.stats().requests} requests`,
    );
    expect(rows).toBe(expected);
    expect(duplicates).toBe(0);
    expect(seen.every((v) => v === 1)).toBe(true);
    // Flat: the last 75% of the walk (150,000 rows and ~100 MB of JSON by default) adds almost nothing.
    expect(peak - peakAtQuarter).toBeLessThan(32 * 1048576);
    expect(peak - baseline).toBeLessThan(96 * 1048576);
    await canvas.close();
  });
});
