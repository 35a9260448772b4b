import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { canvasRoutes, gql, OUTSIDE_QUERY, pages, serviceGateway, startSim } from "./helpers.js";

// Route keys as the simulator counts them.
const COURSES = "GET /api/v1/courses";
const COURSE = "GET /api/v1/courses/:id";
const ENROLLMENTS = "GET /api/v1/courses/:course_id/enrollments";
const SUMMARIES = "GET /api/v1/courses/:course_id/analytics/student_summaries";
const ASSIGNMENTS = "GET /api/v1/courses/:course_id/assignments";
const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";

const COURSE_IDS = [1, 2, 3];

let sim: CanvasSim;
/** A fresh gateway per test (cold list cache), on a clock the test moves. */
let gateway: Gateway;
let naive: Gateway;
let clockMs = 0;
const tick = (ms: number) => {
  clockMs += ms;
};

// Ground truth from the simulator: rows each Canvas list has for the gateway's admin token.
const roster = (c: number) => sim.data.enrollments(c, { type: ["StudentEnrollment"] }).length;
const summaries = (c: number) => sim.data.studentSummaries(c).length;
const assignments = (c: number) => sim.data.assignments(c).length;
const hasRollCall = (c: number) => sim.data.assignments(c).some((a) => a.name === "Roll Call Attendance");
const rosterIds = (c: number) =>
  sim.data.enrollments(c, { type: ["StudentEnrollment"] }).map((e) => e.user_id as number);

/** Grades + attendance (with Roll Call) + engagement of every student of the 3 courses. */
const ALL_OF_3 = `{
  courses(first: 3) { totalCount nodes { id students(first: 200) { totalCount nodes {
    id grades { currentScore finalScore } attendance { lastAttendedAt rollCallScore rollCallGrade }
    engagement { pageViews participations lastActivityAt totalActivityTime }
  } } } } }`;

/** What ALL_OF_3 costs cold, per route: one walk per course and list. */
function allOf3Minimum(courseIds = COURSE_IDS, listCourses = true): Record<string, number> {
  const sum = (f: (c: number) => number) => courseIds.reduce((acc, c) => acc + f(c), 0);
  return without0({
    [COURSES]: listCourses ? pages(sim.data.courses().length) : 0,
    [ENROLLMENTS]: sum((c) => pages(roster(c))),
    [SUMMARIES]: sum((c) => pages(summaries(c))),
    [ASSIGNMENTS]: sum((c) => pages(assignments(c))),
    [SUBMISSIONS]: sum((c) => (hasRollCall(c) ? pages(roster(c)) : 0)),
  });
}

function without0(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

async function run(query: string, on: Gateway = gateway, headers: Record<string, string> = {}) {
  sim.resetStats();
  const result = await gql(on, query, { headers });
  expect(result.body.errors, JSON.stringify(result.body.errors)).toBeUndefined();
  expect(result.status).toBe(200);
  return { result, counts: canvasRoutes(sim), total: sim.stats().requests.total };
}

beforeAll(async () => {
  // 130 students a course: lists of more than one Canvas page, so the formula is really tested.
  sim = await startSim({ courses: 3, studentsPerCourse: 130, assignmentsPerCourse: 6 });
  // The naive resolver stands for "no batching, no sharing": no list cache either.
  naive = serviceGateway(sim, { loaderStrategy: "naive-per-student", listCacheTtlSeconds: 0 });
});

beforeEach(() => {
  clockMs = 0;
  gateway = serviceGateway(sim, { clock: () => clockMs });
  sim.resetStats();
});

afterEach(async () => {
  await gateway?.close();
});

afterAll(async () => {
  await naive?.close();
  await sim?.close();
});

describe("Canvas requests per query shape (exact, from the simulator's counters)", () => {
  it("the outside query: 1 course + one walk of enrollments + one walk of summaries", async () => {
    const { result, counts } = await run(OUTSIDE_QUERY);
    const course = (result.body.data as { course: { students: { nodes: unknown[] } } }).course;
    expect(course.students.nodes).toHaveLength(Math.min(100, roster(1)));
    expect(counts).toEqual({
      [COURSE]: 1,
      [ENROLLMENTS]: pages(roster(1)),
      [SUMMARIES]: pages(summaries(1)),
    });
  });

  it("one student: narrow per-student requests (1 each), never a walk", async () => {
    const id = rosterIds(2)[5];
    const { result, counts } = await run(`{
      course(id: "2") { student(id: "${id}") {
        id grades { currentScore } attendance { lastAttendedAt } engagement { pageViews lastActivityAt }
      } } }`);
    expect((result.body.data as { course: { student: { id: string } } }).course.student.id).toBe(String(id));
    expect(counts).toEqual({ [COURSE]: 1, [ENROLLMENTS]: 1, [SUMMARIES]: 1 });
  });

  it("a page of students with submissions: walks for the roster and summaries, one id chunk of submissions", async () => {
    const { result, counts } = await run(`{
      course(id: "2") { students(first: 10) { nodes {
        id grades { currentScore unpostedCurrentScore } engagement { pageViews tardinessBreakdown { late } }
        submissions { assignmentId score late missing }
      } } } }`);
    const nodes = (result.body.data as { course: { students: { nodes: Array<{ submissions: unknown[] }> } } })
      .course.students.nodes;
    expect(nodes).toHaveLength(10);
    expect(nodes[0]!.submissions).toHaveLength(assignments(2));
    expect(counts).toEqual({
      [COURSE]: 1,
      [ENROLLMENTS]: pages(roster(2)),
      // 10 students wanted, the walk costs pages(rows) = 2 requests: the walk is cheaper than 10.
      [SUMMARIES]: pages(summaries(2)),
      [SUBMISSIONS]: pages(10),
    });
  });

  it("grades + attendance + engagement of ALL students of 3 courses: sum over courses of ceil(rows/100) per endpoint", async () => {
    const { result, counts, total } = await run(ALL_OF_3);
    const data = result.body.data as {
      courses: { nodes: Array<{ id: string; students: { totalCount: number; nodes: unknown[] } }> };
    };
    for (const course of data.courses.nodes) {
      const c = Number(course.id);
      expect(course.students.nodes).toHaveLength(roster(c));
      expect(course.students.totalCount).toBe(roster(c));
      // Roll Call scores exist exactly where the course has the Roll Call assignment.
      const scores = (course.students.nodes as Array<{ attendance: { rollCallScore: number | null } }>).map(
        (n) => n.attendance.rollCallScore,
      );
      if (hasRollCall(c)) expect(scores.some((s) => typeof s === "number")).toBe(true);
      else expect(scores.every((s) => s === null)).toBe(true);
    }
    const sum = (f: (c: number) => number) => COURSE_IDS.reduce((acc, c) => acc + f(c), 0);
    // Roll Call scores: that assignment's submissions, only where the course has it.
    const expected = allOf3Minimum();
    expect(counts).toEqual(expected);
    expect(total).toBe(Object.values(expected).reduce((a, b) => a + b, 0));
    // ~380 students in 20 requests: a per-student resolver would need several per student.
    expect(total * 10).toBeLessThan(sum(roster));
  });

  it("nested submissions, all and filtered: one grouped walk per (course, assignment list)", async () => {
    const [first, second] = sim.data.assignments(3).map((a) => a.id as number);
    const { result, counts } = await run(`{
      course(id: "3") {
        assignments { totalCount nodes { id name isRollCallAttendance } }
        students(first: 200) { nodes {
          id
          all: submissions { assignmentId score grade submittedAt gradedAt late missing excused workflowState }
          some: submissions(assignmentIds: ["${second}", "${first}"]) { assignmentId score }
        } }
      } }`);
    const nodes = (
      result.body.data as { course: { students: { nodes: Array<{ all: unknown[]; some: unknown[] }> } } }
    ).course.students.nodes;
    expect(nodes[0]!.all).toHaveLength(assignments(3));
    expect(nodes[0]!.some).toHaveLength(2);
    expect(counts).toEqual({
      [COURSE]: 1,
      [ASSIGNMENTS]: pages(assignments(3)),
      [ENROLLMENTS]: pages(roster(3)),
      [SUBMISSIONS]: 2 * pages(roster(3)),
    });
  });

  it("repeating a field with aliases costs nothing more (per-request cache)", async () => {
    const { counts } = await run(`{
      a: course(id: "1") { students { nodes { grades { currentScore } } } }
      b: course(id: "1") { students { nodes { grades { finalScore } engagement { pageViews } } } }
    }`);
    expect(counts).toEqual({
      [COURSE]: 1,
      [ENROLLMENTS]: pages(roster(1)),
      [SUMMARIES]: pages(summaries(1)),
    });
  });

  it("with the list cache off, loaders live per request: the same query twice costs twice", async () => {
    const uncached = serviceGateway(sim, { listCacheTtlSeconds: 0 });
    try {
      const { total: once } = await run(OUTSIDE_QUERY, uncached);
      expect(once).toBe(1 + pages(roster(1)) + pages(summaries(1)));
      sim.resetStats();
      await gql(uncached, OUTSIDE_QUERY);
      await gql(uncached, OUTSIDE_QUERY);
      expect(sim.stats().requests.total).toBe(2 * once);
    } finally {
      await uncached.close();
    }
  });
});

describe("what batching saves", () => {
  it("a naive per-student resolver costs one request per student per endpoint on the outside query", async () => {
    const batched = await run(OUTSIDE_QUERY);
    const perStudent = await run(OUTSIDE_QUERY, naive);
    // Same answer...
    expect(perStudent.result.body).toEqual(batched.result.body);
    const k = Math.min(100, roster(1));
    // ...for 1 course + the roster walk + one enrollment and one summary request per student.
    expect(perStudent.counts).toEqual({
      [COURSE]: 1,
      [ENROLLMENTS]: pages(roster(1)) + k,
      [SUMMARIES]: k,
    });
    expect(perStudent.total).toBeGreaterThan(40 * batched.total);
  });
});

describe("the list cache: whole lists shared across requests of one credential", () => {
  const ONE_STUDENT = (id: number) => `{
    course(id: "2") { student(id: "${id}") {
      id grades { currentScore } attendance { lastAttendedAt } engagement { pageViews lastActivityAt }
    } } }`;

  it("the same queries again within the TTL cost 0 Canvas requests, with the same answers", async () => {
    const queries = [OUTSIDE_QUERY, ALL_OF_3, ONE_STUDENT(rosterIds(2)[5]!)];
    const cold = [];
    for (const query of queries) cold.push(await run(query));
    tick(59_000);
    for (const [i, query] of queries.entries()) {
      const warm = await run(query);
      expect(warm.total, query).toBe(0);
      expect(warm.result.body).toEqual(cold[i]!.result.body);
    }
  });

  it("after the TTL, the same query costs the minimum again (then 0 again)", async () => {
    await run(ALL_OF_3);
    tick(60_000);
    const { counts } = await run(ALL_OF_3);
    expect(counts).toEqual(allOf3Minimum());
    tick(1_000);
    expect((await run(ALL_OF_3)).total).toBe(0);
  });

  it("one student of a course whose roster and summaries are cached costs nothing", async () => {
    await run(OUTSIDE_QUERY);
    const id = rosterIds(1)[7]!;
    const one = await run(
      `{ course(id: "1") { student(id: "${id}") { grades { currentScore } engagement { pageViews } } } }`,
    );
    expect(one.total).toBe(0);
  });

  it("concurrent identical queries share one walk per list (single flight)", async () => {
    sim.resetStats();
    const answers = await Promise.all([
      gql(gateway, ALL_OF_3),
      gql(gateway, ALL_OF_3),
      gql(gateway, ALL_OF_3),
    ]);
    for (const answer of answers) expect(answer.body.errors).toBeUndefined();
    expect(answers[1]!.body).toEqual(answers[0]!.body);
    expect(canvasRoutes(sim)).toEqual(allOf3Minimum());
  });

  it("a failed walk is not cached: the next request asks Canvas again and gets the data", async () => {
    sim.faults.add(`503:x1@${ENROLLMENTS}`);
    try {
      sim.resetStats();
      const failed = await gql(gateway, OUTSIDE_QUERY);
      expect(failed.body.errors?.[0]?.extensions?.code).toBe("UPSTREAM_UNAVAILABLE");
    } finally {
      sim.faults.clear();
    }
    const { counts } = await run(OUTSIDE_QUERY);
    // The course was stored; the roster was not, and neither was the failed answer. The summaries
    // walk started beside the roster: stored if it ended before this request, joined if still
    // running, walked again if it was stopped with the failed request; never more than once.
    const { [SUMMARIES]: summariesAgain = 0, ...rest } = counts;
    expect(rest).toEqual({ [ENROLLMENTS]: pages(roster(1)) });
    expect(summariesAgain).toBeLessThanOrEqual(pages(summaries(1)));
    expect((await run(OUTSIDE_QUERY)).total).toBe(0);
  });

  it("Cache-Control: no-cache reads every list from Canvas again, and refreshes the cache", async () => {
    const cold = await run(OUTSIDE_QUERY);
    const refreshed = await run(OUTSIDE_QUERY, gateway, { "cache-control": "no-cache" });
    expect(refreshed.counts).toEqual(cold.counts);
    expect((await run(OUTSIDE_QUERY)).total).toBe(0);
  });

  it("setLastAttended drops that course's lists (only that course's), and the next read shows the change", async () => {
    await run(ALL_OF_3);
    const studentId = rosterIds(2)[3]!;
    const date = "2026-03-04T05:06:07Z";
    const mutation = await gql(
      gateway,
      `mutation { setLastAttended(courseId: "2", studentId: "${studentId}", date: "${date}") { lastAttendedAt } }`,
    );
    expect(mutation.body.errors).toBeUndefined();
    const { result, counts } = await run(ALL_OF_3);
    expect(counts).toEqual(without0({ ...allOf3Minimum([2], false), [COURSES]: 0 }));
    const course2 = (
      result.body.data as {
        courses: {
          nodes: Array<{
            id: string;
            students: { nodes: Array<{ id: string; attendance: { lastAttendedAt: string } }> };
          }>;
        };
      }
    ).courses.nodes.find((c) => c.id === "2")!;
    const row = course2.students.nodes.find((n) => n.id === String(studentId))!;
    expect(new Date(row.attendance.lastAttendedAt).toISOString()).toBe(new Date(date).toISOString());
  });

  it("updateGrades drops the course's lists, and again when progress(id) sees the job finish", async () => {
    const course = 3;
    const [studentId] = rosterIds(course);
    const assignment = sim.data.assignments(course)[0]!.id as number;
    const SUBS = `{ course(id: "${course}") { students(first: 200) { nodes { id submissions(assignmentIds: ["${assignment}"]) { score } } } } }`;
    await run(SUBS);
    expect((await run(SUBS)).total).toBe(0);
    const started = await gql(
      gateway,
      `mutation { updateGrades(courseId: "${course}", assignmentId: "${assignment}", grades: [{ studentId: "${studentId}", postedGrade: "3" }]) { id } }`,
    );
    expect(started.body.errors).toBeUndefined();
    const progressId = (started.body.data as { updateGrades: { id: string } }).updateGrades.id;
    // Dropped at once: the next read walks the course again.
    expect((await run(SUBS)).total).toBe(1 + pages(roster(course)) * 2);
    // Cached again while the job runs; dropped again when the job is seen done.
    let done = false;
    for (let i = 0; i < 100 && !done; i++) {
      const polled = await gql(gateway, `{ progress(id: "${progressId}") { done } }`);
      done = (polled.body.data as { progress: { done: boolean } }).progress.done;
      if (!done) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(done).toBe(true);
    const after = await run(SUBS);
    expect(after.total).toBe(1 + pages(roster(course)) * 2);
    const nodes = (
      after.result.body.data as {
        course: { students: { nodes: Array<{ id: string; submissions: Array<{ score: number }> }> } };
      }
    ).course.students.nodes;
    expect(nodes.find((n) => n.id === String(studentId))!.submissions[0]!.score).toBe(3);
  });
});

describe("paging a 2,000-student course with `after`", () => {
  let big: CanvasSim;
  let paging: Gateway;
  beforeAll(async () => {
    big = await startSim({ courses: 1, studentsPerCourse: 2000, assignmentsPerCourse: 3 });
    paging = serviceGateway(big, { limits: { maxCost: 10_000_000 } });
  });
  afterAll(async () => {
    await paging?.close();
    await big?.close();
  });

  it("costs exactly one walk of each list in total: the second page reads the cached roster, summaries and assignments", async () => {
    const FIELDS =
      "id grades { currentScore } attendance { lastAttendedAt rollCallScore } engagement { pageViews } submissions { score }";
    const page = (after?: string) =>
      `{ course(id: "1") { id students(first: 1000${after ? `, after: "${after}"` : ""}) { totalCount pageInfo { hasNextPage endCursor } nodes { ${FIELDS} } } } }`;
    type Page = {
      course: {
        students: {
          totalCount: number;
          pageInfo: { hasNextPage: boolean; endCursor: string };
          nodes: Array<{ id: string }>;
        };
      };
    };
    big.resetStats();
    const seen = new Set<string>();
    let after: string | undefined;
    let requests = 0;
    for (;;) {
      const answer = await gql(paging, page(after));
      requests++;
      expect(answer.body.errors).toBeUndefined();
      const students = (answer.body.data as Page).course.students;
      for (const node of students.nodes) seen.add(node.id);
      if (!students.pageInfo.hasNextPage) break;
      after = students.pageInfo.endCursor;
    }
    const enrollments = big.data.enrollments(1, { type: ["StudentEnrollment"] });
    const students = new Set(enrollments.map((e) => e.user_id)).size;
    expect(requests).toBe(Math.ceil(students / 1000));
    expect(requests).toBeGreaterThan(1);
    expect(seen.size).toBe(students);
    const rollCall = big.data.assignments(1).some((a) => a.name === "Roll Call Attendance");
    expect({ ...big.stats().requests.byRoute }).toEqual({
      [COURSE]: 1,
      [ENROLLMENTS]: pages(enrollments.length),
      [SUMMARIES]: pages(big.data.studentSummaries(1).length),
      [ASSIGNMENTS]: pages(big.data.assignments(1).length),
      // Each student's submissions once (chunks of 100), and their Roll Call row once.
      [SUBMISSIONS]: pages(students) * (rollCall ? 2 : 1),
    });
  });
});
