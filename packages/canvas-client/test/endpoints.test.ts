import { ReauthorizationRequiredError } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CanvasBadRequestError,
  CanvasClient,
  CanvasNotFoundError,
  CanvasProgressFailedError,
  type CanvasTransport,
  canvasEndpoints,
  isRollCallAssignment,
  PROGRESS_FAILED,
  type Progress,
  ROLL_CALL_ASSIGNMENT_NAME,
} from "../src/index.js";
import { startSim } from "./helpers/sim.js";

const SUBMISSIONS = "GET /api/v1/courses/:course_id/students/submissions";
const byNumber = (a: number, b: number) => a - b;

async function failure(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected a rejection");
}

async function all<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

describe("typed endpoint groups against the simulator", () => {
  let sim: CanvasSim;
  let canvas: CanvasClient;
  beforeAll(async () => {
    sim = await startSim({
      seed: 4,
      courses: 3,
      studentsPerCourse: 240,
      assignmentsPerCourse: 5,
      jobSeconds: 0.4,
    });
    canvas = new CanvasClient({ baseUrl: sim.url, auth: sim.developerToken });
  });
  afterAll(async () => {
    await canvas.close();
    await sim.close();
  });

  it("courses: list (with a client-side term filter), get, students; accounts.courses by term", async () => {
    const truth = sim.data.courses();
    const courses = await all(canvas.courses.list({ include: ["term"] }));
    expect(courses.map((c) => c.id)).toEqual(truth.map((c) => c.id));
    const termId = courses[0]!.enrollment_term_id;
    const inTerm = truth.filter((c) => c.enrollment_term_id === termId).map((c) => c.id);
    expect(inTerm.length).toBeGreaterThan(0);
    expect(inTerm.length).toBeLessThan(truth.length);
    expect((await all(canvas.courses.list({ enrollmentTermId: termId }))).map((c) => c.id)).toEqual(inTerm);

    const course = await canvas.courses.get(2);
    expect(course.name).toBe(truth[1]!.name);

    const accountId = Number(truth[0]!.root_account_id ?? truth[0]!.account_id);
    const byTerm = await all(canvas.accounts.courses(accountId, { enrollmentTermId: termId }));
    expect(byTerm.map((c) => c.id).sort(byNumber)).toEqual([...inTerm].sort(byNumber));

    const students = await all(canvas.courses.students(1));
    const expected = sim.data
      .enrollments(1, { type: ["StudentEnrollment"], state: ["active", "invited"] })
      .map((e) => Number(e.user_id));
    expect(students.map((u) => u.id).sort(byNumber)).toEqual([...expected].sort(byNumber));
    expect(typeof students[0]!.sortable_name).toBe("string");
  });

  it("users.self, enrollments with grades and activity, assignments", async () => {
    expect((await canvas.users.self()).id).toBe(sim.data.adminUserId);

    const enrollments = await all(
      canvas.enrollments.forCourse(1, { type: ["StudentEnrollment"], state: ["active"] }),
    );
    const truth = sim.data.enrollments(1, { type: ["StudentEnrollment"], state: ["active"] });
    expect(enrollments.map((e) => e.id)).toEqual(truth.map((e) => e.id));
    for (const e of enrollments) {
      expect(e.type).toBe("StudentEnrollment");
      expect(typeof e.total_activity_time).toBe("number");
      expect(e).toHaveProperty("last_activity_at");
      expect(e).toHaveProperty("last_attended_at");
      expect(e.grades).toHaveProperty("current_score");
    }
    const one = enrollments[3]!;
    expect(one.grades?.current_score).toBe(sim.data.grades(1, one.user_id)?.current_score);

    const assignments = await all(canvas.assignments.list(1));
    expect(assignments.map((a) => a.id)).toEqual(sim.data.assignments(1).map((a) => a.id));
    expect((await canvas.assignments.get(1, assignments[0]!.id)).name).toBe(assignments[0]!.name);
  });

  it("submissions.forStudents splits 230 explicit ids into ≤100-id requests, flat and grouped", async () => {
    const studentIds = sim.data.studentIds(2).slice(0, 230);
    const assignmentIds = sim.data
      .assignments(2)
      .slice(0, 2)
      .map((a) => a.id);
    const truth = [...sim.data.submissions(2, { studentIds, assignmentIds })].map((s) => s.id);
    expect(truth).toHaveLength(460);

    sim.resetStats();
    const flat = await all(canvas.submissions.forStudents(2, { studentIds, assignmentIds }));
    expect(flat.map((s) => s.id).sort(byNumber)).toEqual([...truth].sort(byNumber));
    expect(new Set(flat.map((s) => s.id)).size).toBe(460);
    // Chunks of 100, 100 and 30 students x 2 assignments, 100 rows a page: 2 + 2 + 1 requests, no 400.
    expect(sim.stats().requests.byRoute[SUBMISSIONS]).toBe(5);
    expect(sim.stats().requests.byStatus["400"]).toBeUndefined();
    // The order follows the chunks: every student of chunk 1 before any of chunk 2.
    const firstOfChunk2 = flat.findIndex((s) => !studentIds.slice(0, 100).includes(s.user_id));
    expect(firstOfChunk2).toBe(200);

    const grouped = await all(
      canvas.submissions.forStudents(2, { studentIds, assignmentIds, grouped: true }),
    );
    expect(grouped.map((g) => g.user_id)).toEqual(studentIds);
    expect(grouped.every((g) => g.submissions.length === 2)).toBe(true);

    // Why the split exists: Canvas refuses more than 100 explicit students.
    const refused = await failure(
      canvas.collect("/api/v1/courses/2/students/submissions", {
        student_ids: sim.data.studentIds(2).slice(0, 101),
      }),
    );
    expect(refused).toBeInstanceOf(CanvasBadRequestError);
    expect((refused as CanvasBadRequestError).canvasMessages).toEqual(["too many students"]);
  });

  it("submissions.forStudentsPages: forStudents a page at a time, also through a four-member wrapper", async () => {
    // Course 3: 240 students x 5 assignments = 1,200 submissions, 12 pages of 100.
    const flat = await all(canvas.submissions.forStudents(3, { studentIds: "all" }));
    expect(flat).toHaveLength(1200);
    sim.resetStats();
    const pages = await all(canvas.submissions.forStudentsPages(3, { studentIds: "all" }));
    expect(pages.map((p) => p.length)).toEqual(Array(12).fill(100));
    expect(pages.flat()).toEqual(flat);
    expect(sim.stats().requests.byRoute[SUBMISSIONS]).toBe(12);

    // Explicit ids in two chunks (100 + 30 students x 5): pages follow the chunks, none empty.
    const studentIds = sim.data.studentIds(3).slice(0, 130);
    const chunked = await all(canvas.submissions.forStudentsPages(3, { studentIds }));
    expect(chunked.map((p) => p.length)).toEqual([100, 100, 100, 100, 100, 100, 50]);
    expect(chunked.flat()).toEqual(await all(canvas.submissions.forStudents(3, { studentIds })));

    const grouped = await all(canvas.submissions.forStudentsPages(3, { studentIds: "all", grouped: true }));
    expect(grouped.map((p) => p.length)).toEqual([100, 100, 40]);
    expect(grouped.flat().map((g) => g.user_id)).toEqual(sim.data.studentIds(3));

    // A transport without `pages` (a wrapper of the four members): the same items, in batches of at
    // most 100, every list through the wrapper's paginate.
    const lists: string[] = [];
    const wrapper: CanvasTransport = {
      request: canvas.request.bind(canvas),
      paginate: (path, query, options) => {
        lists.push(path);
        return canvas.paginate(path, query, options);
      },
      resolve: canvas.resolve.bind(canvas),
      options: canvas.options,
    };
    const viaWrapper = await all(
      canvasEndpoints(wrapper).submissions.forStudentsPages(3, { studentIds: "all" }),
    );
    expect(viaWrapper.map((p) => p.length)).toEqual(Array(12).fill(100));
    expect(viaWrapper.flat()).toEqual(flat);
    expect(lists).toEqual(["/api/v1/courses/3/students/submissions"]);
  });

  it("submissions.forAssignment and analytics.studentSummaries (404 once analytics is off)", async () => {
    const assignmentId = sim.data.assignments(3)[1]!.id;
    const subs = await all(canvas.submissions.forAssignment(3, assignmentId));
    expect(subs.map((s) => s.id)).toEqual(
      [...sim.data.submissions(3, { assignmentIds: [assignmentId] })].map((s) => s.id),
    );

    const summaries = await all(canvas.analytics.studentSummaries(3));
    expect(summaries.map((s) => s.id)).toEqual(sim.data.studentSummaries(3).map((s) => s.id));
    expect(summaries[0]).toHaveProperty("tardiness_breakdown.on_time");
    expect(summaries[0]).toHaveProperty("max_page_views");

    sim.admin.setAnalyticsEnabled(false);
    try {
      const error = await failure(all(canvas.analytics.studentSummaries(3)));
      expect(error).toBeInstanceOf(CanvasNotFoundError);
    } finally {
      sim.admin.setAnalyticsEnabled(true);
    }
  });

  it("grades.update → progress.waitFor through a partial failure, then the grades read back", async () => {
    const assignment = sim.data.assignments(1)[2]!;
    const [a, b] = sim.data.studentIds(1);
    const progress = await canvas.grades.update(1, assignment.id, {
      [a!]: { posted_grade: "3" },
      [b!]: { excuse: true },
      999999: { posted_grade: "1" },
    });
    expect(progress.workflow_state).toMatch(/queued|running/);
    const seen: Progress[] = [];
    const error = await failure(
      canvas.progress.waitFor(progress.id, { intervalMs: 50, onProgress: (p) => seen.push(p) }),
    );
    expect(error).toBeInstanceOf(CanvasProgressFailedError);
    expect((error as CanvasProgressFailedError).code).toBe(PROGRESS_FAILED);
    expect(error.message).toContain("Couldn't find User(s) with API ids '999999'");
    expect((error as CanvasProgressFailedError).progress.workflow_state).toBe("failed");
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)!.workflow_state).toBe("failed");

    // Partial success: the students Canvas found were graded.
    const graded = await canvas.submissions.get(1, assignment.id, a!);
    expect(graded.score).toBe(3);
    expect((await canvas.submissions.get(1, assignment.id, b!)).excused).toBe(true);
    const flat = await all(
      canvas.submissions.forStudents(1, { studentIds: [a!], assignmentIds: [assignment.id] }),
    );
    expect(flat[0]!.score).toBe(3);
    expect(sim.data.submission(1, assignment.id, a!)?.score).toBe(3);

    const ok = await canvas.grades.update(1, assignment.id, { [a!]: { posted_grade: "2" } });
    const done = await canvas.progress.waitFor(ok.id, { intervalMs: 50 });
    expect(done.workflow_state).toBe("completed");
    expect(done.completion).toBe(100);
    expect((await canvas.progress.get(ok.id)).id).toBe(ok.id);
    expect((await canvas.submissions.get(1, assignment.id, a!)).score).toBe(2);
  });

  it("enrollments.setLastAttended writes last_attended_at", async () => {
    const student = sim.data.studentIds(1)[5]!;
    const result = await canvas.enrollments.setLastAttended(1, student, new Date("2026-10-01T09:30:00Z"));
    expect(Date.parse(result.date)).toBe(Date.parse("2026-10-01T09:30:00Z"));
    expect(Date.parse(sim.data.lastAttended(1, student)!)).toBe(Date.parse("2026-10-01T09:30:00Z"));
    const [enrollment] = await all(canvas.enrollments.forCourse(1, { userId: student }));
    expect(Date.parse(enrollment!.last_attended_at!)).toBe(Date.parse("2026-10-01T09:30:00Z"));
  });

  it("tokens: create, use, show (hint only), regenerate (old one dies), delete", async () => {
    const created = await canvas.tokens.create({
      purpose: "endpoint test",
      expiresAt: "2027-01-01T00:00:00Z",
    });
    const first = created.visible_token!;
    expect(first.length).toBeGreaterThan(20);
    expect(created.purpose).toBe("endpoint test");

    const asToken = new CanvasClient({ baseUrl: sim.url, auth: first });
    expect((await asToken.users.self()).id).toBe(sim.data.adminUserId);

    const shown = await canvas.tokens.get(created.id);
    expect(shown.visible_token).toBe(`${first.slice(0, 5)}...`);
    expect((await all(canvas.tokens.listUserGenerated())).map((t) => t.id)).toContain(created.id);

    const regenerated = await canvas.tokens.regenerate(created.id);
    const second = regenerated.visible_token!;
    expect(second).not.toBe(first);
    await expect(asToken.users.self()).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    const asSecond = new CanvasClient({ baseUrl: sim.url, auth: second });
    expect((await asSecond.users.self()).id).toBe(sim.data.adminUserId);

    const deleted = await canvas.tokens.delete(created.id);
    expect(deleted.workflow_state).toBe("deleted");
    await expect(asSecond.users.self()).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    await expect(canvas.tokens.get(created.id)).rejects.toBeInstanceOf(CanvasNotFoundError);
    await asToken.close();
    await asSecond.close();
  });

  it("canvasEndpoints(transport) sends every call through the transport it is given", async () => {
    const calls: string[] = [];
    const wrapper: CanvasTransport = {
      request: (method, path, options) => {
        calls.push(`${method} ${path}`);
        return canvas.request(method, path, options);
      },
      paginate: (path, query, options) => {
        calls.push(`LIST ${path}`);
        return canvas.paginate(path, query, options);
      },
      resolve: canvas.resolve.bind(canvas),
      options: canvas.options,
    };
    const api = canvasEndpoints(wrapper);
    expect((await api.courses.get(1)).id).toBe(1);
    const assignments = await all(api.assignments.list(1));
    expect(assignments.map((a) => a.id)).toEqual(sim.data.assignments(1).map((a) => a.id));
    expect(calls).toEqual(["GET /api/v1/courses/1", "LIST /api/v1/courses/1/assignments"]);
  });

  it("assignments.findRollCall: the exact-name assignment with one narrowed list request, or undefined", async () => {
    for (const courseId of [1, 2, 3]) {
      const truth = sim.data.assignments(courseId).find((a) => a.name === ROLL_CALL_ASSIGNMENT_NAME);
      sim.resetStats();
      const found = await canvas.assignments.findRollCall(courseId);
      expect(found?.id).toBe(truth?.id);
      if (found) expect(isRollCallAssignment(found)).toBe(true);
      expect(sim.stats().requests.byRoute["GET /api/v1/courses/:course_id/assignments"]).toBe(1);
    }
    expect(isRollCallAssignment({ name: `${ROLL_CALL_ASSIGNMENT_NAME} (old)` })).toBe(false);
  });

  it("grades.update takes camelCase changes per student and leaves null fields out", async () => {
    const assignment = sim.data.assignments(3)[0]!;
    const [a, b] = sim.data.studentIds(3);
    const progress = await canvas.grades.update(3, assignment.id, [
      { studentId: a!, postedGrade: "4", excuse: null, comment: undefined },
      { studentId: b!, postedGrade: null, excuse: true },
    ]);
    expect((await canvas.progress.waitFor(progress.id, { intervalMs: 50 })).workflow_state).toBe("completed");
    const graded = await canvas.submissions.get(3, assignment.id, a!);
    expect(graded.score).toBe(4);
    expect(graded.excused).not.toBe(true);
    expect((await canvas.submissions.get(3, assignment.id, b!)).excused).toBe(true);
  });
});
