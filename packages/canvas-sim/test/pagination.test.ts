import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim } from "../src/index.js";
import { call, parseLinks, startSim, walk } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ courses: 2, studentsPerCourse: 237, assignmentsPerCourse: 7 });
});
afterAll(() => sim.close());

describe("per_page", () => {
  it("defaults to 10 and clamps to 1..100 (Ruby to_i semantics)", async () => {
    const sizes: Array<[string, number]> = [
      ["", 10],
      ["per_page=1", 1],
      ["per_page=0", 1],
      ["per_page=-5", 1],
      ["per_page=abc", 1],
      ["per_page=55", 55],
      ["per_page=100", 100],
      ["per_page=1000", 100],
    ];
    for (const [query, expected] of sizes) {
      const result = await call<unknown[]>(sim, `/api/v1/courses/1/enrollments?${query}`);
      expect(result.body, query).toHaveLength(expected);
      expect(result.headers.get("link"), query).toContain(`per_page=${expected}>`);
    }
  });
});

describe("the Link header", () => {
  it("is absolute, comma-joined without spaces, rels in Canvas's order, page and per_page last", async () => {
    const result = await call(
      sim,
      "/api/v1/courses/1/enrollments?page=2&per_page=10&type[]=StudentEnrollment",
    );
    const base = `${sim.url}/api/v1/courses/1/enrollments?type%5B%5D=StudentEnrollment`;
    const header = result.headers.get("link");
    expect(header).toBe(
      [
        `<${base}&page=2&per_page=10>; rel="current"`,
        `<${base}&page=3&per_page=10>; rel="next"`,
        `<${base}&page=1&per_page=10>; rel="prev"`,
        `<${base}&page=1&per_page=10>; rel="first"`,
        `<${base}&page=23&per_page=10>; rel="last"`,
      ].join(","),
    );
  });

  it("keeps the original parameters (sorted as Rails re-encodes them) and strips access_token", async () => {
    const result = await call(
      sim,
      `/api/v1/courses/1/enrollments?state[]=active&access_token=${sim.developerToken}&include[]=current_points&type[]=StudentEnrollment&type[]=TeacherEnrollment`,
      { token: null },
    );
    const next = parseLinks(result.headers.get("link")).next!;
    expect(next).not.toContain("access_token");
    expect(next).not.toContain(sim.developerToken);
    expect(next).toBe(
      `${sim.url}/api/v1/courses/1/enrollments?include%5B%5D=current_points&state%5B%5D=active&type%5B%5D=StudentEnrollment&type%5B%5D=TeacherEnrollment&page=2&per_page=10`,
    );
  });

  it("has no prev on the first page and no next on the last", async () => {
    const first = parseLinks(
      (await call(sim, "/api/v1/courses/1/assignments?per_page=5")).headers.get("link"),
    );
    expect(first.prev).toBeUndefined();
    expect(first.next).toBeDefined();
    const last = parseLinks(
      (await call(sim, "/api/v1/courses/1/assignments?per_page=5&page=2")).headers.get("link"),
    );
    expect(last.next).toBeUndefined();
    expect(last.last).toContain("page=2&");
  });

  it("omits rel=last for bookmark collections and uses opaque bookmark: pages", async () => {
    const result = await call(sim, "/api/v1/courses/1/students/submissions?student_ids[]=all&per_page=7");
    const links = parseLinks(result.headers.get("link"));
    expect(links.last).toBeUndefined();
    expect(links.prev).toBeUndefined();
    expect(links.current).toContain("page=first&");
    expect(links.first).toContain("page=first&");
    const page = new URL(links.next!).searchParams.get("page")!;
    expect(page).toMatch(/^bookmark:[A-Za-z0-9_-]+$/);
    expect(JSON.parse(Buffer.from(page.slice("bookmark:".length), "base64url").toString())).toEqual([7]);
  });
});

describe("walking a collection", () => {
  it("returns every enrollment exactly once, in Canvas's order, for several page sizes", async () => {
    const expected = sim.data.enrollments(1).map((enrollment) => enrollment.id);
    expect(expected.length).toBeGreaterThan(200);
    for (const perPage of [10, 33, 100]) {
      const { rows, pages } = await walk<{ id: number }>(
        sim,
        `/api/v1/courses/1/enrollments?per_page=${perPage}`,
      );
      expect(rows.map((row) => row.id)).toEqual(expected);
      expect(pages).toBe(Math.ceil(expected.length / perPage));
    }
    const { rows } = await walk<{ id: number }>(sim, "/api/v1/courses/2/assignments?per_page=1");
    expect(rows.map((row) => row.id)).toEqual(sim.data.assignments(2).map((assignment) => assignment.id));
  });

  it("orders enrollments by type, then sortable name, then id", async () => {
    const { rows } = await walk<{ type: string; user: { sortable_name: string } }>(
      sim,
      "/api/v1/courses/1/enrollments?per_page=100",
    );
    const types = rows.map((row) => row.type);
    expect(types).toEqual([...types].sort());
    const collator = new Intl.Collator("en", { sensitivity: "base" });
    const students = rows
      .filter((row) => row.type === "StudentEnrollment")
      .map((row) => row.user.sortable_name);
    for (let i = 1; i < students.length; i++)
      expect(collator.compare(students[i - 1]!, students[i]!)).toBeLessThanOrEqual(0);
  });

  it("a page past the end is [] with 200", async () => {
    const result = await call<unknown[]>(sim, "/api/v1/courses/1/enrollments?page=999");
    expect(result.status).toBe(200);
    expect(result.body).toEqual([]);
    const links = parseLinks(result.headers.get("link"));
    expect(links.next).toBeUndefined();
    expect(links.prev).toContain("page=998");
  });

  it("a bookmark past the end is [] with no next", async () => {
    const beyond = `bookmark:${Buffer.from("[99999999]").toString("base64url")}`;
    const result = await call<unknown[]>(
      sim,
      `/api/v1/courses/1/students/submissions?student_ids[]=all&page=${beyond}`,
    );
    expect(result.body).toEqual([]);
    expect(parseLinks(result.headers.get("link")).next).toBeUndefined();
  });
});
