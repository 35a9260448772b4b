import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
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
let gateway: Gateway;
let naive: Gateway;

// Ground truth from the simulator: rows each Canvas list has for the gateway's admin token.
const roster = (c: number) => sim.data.enrollments(c, { type: ["StudentEnrollment"] }).length;
const summaries = (c: number) => sim.data.studentSummaries(c).length;
const assignments = (c: number) => sim.data.assignments(c).length;
const hasRollCall = (c: number) => sim.data.assignments(c).some((a) => a.name === "Roll Call Attendance");
const rosterIds = (c: number) =>
  sim.data.enrollments(c, { type: ["StudentEnrollment"] }).map((e) => e.user_id as number);

function without0(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).filter(([, n]) => n > 0));
}

async function run(query: string, on: Gateway = gateway) {
  sim.resetStats();
  const result = await gql(on, query);
  expect(result.body.errors, JSON.stringify(result.body.errors)).toBeUndefined();
  expect(result.status).toBe(200);
  return { result, counts: canvasRoutes(sim), total: sim.stats().requests.total };
}

beforeAll(async () => {
  // 130 students a course: lists of more than one Canvas page, so the formula is really tested.
  sim = await startSim({ courses: 3, studentsPerCourse: 130, assignmentsPerCourse: 6 });
  gateway = serviceGateway(sim);
  naive = serviceGateway(sim, { loaderStrategy: "naive-per-student" });
});

afterAll(async () => {
  await gateway?.close();
  await naive?.close();
  await sim?.close();
});

beforeEach(() => sim.resetStats());

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
    const { result, counts, total } = await run(`{
      courses(first: 3) { totalCount nodes { id students(first: 200) { totalCount nodes {
        id grades { currentScore finalScore } attendance { lastAttendedAt rollCallScore rollCallGrade }
        engagement { pageViews participations lastActivityAt totalActivityTime }
      } } } } }`);
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
    const expected = without0({
      [COURSES]: pages(sim.data.courses().length),
      [ENROLLMENTS]: sum((c) => pages(roster(c))),
      [SUMMARIES]: sum((c) => pages(summaries(c))),
      [ASSIGNMENTS]: sum((c) => pages(assignments(c))),
      // Roll Call scores: that assignment's submissions, only where the course has it.
      [SUBMISSIONS]: sum((c) => (hasRollCall(c) ? pages(roster(c)) : 0)),
    });
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

  it("loaders live per request: the same query twice costs twice", async () => {
    await run(OUTSIDE_QUERY);
    const once = sim.stats().requests.total;
    sim.resetStats();
    await gql(gateway, OUTSIDE_QUERY);
    await gql(gateway, OUTSIDE_QUERY);
    expect(sim.stats().requests.total).toBe(2 * once);
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
