import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { API_KEY, gql, serviceGateway, startSim } from "./helpers.js";

let sim: CanvasSim;
let gateway: Gateway;

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 6, assignmentsPerCourse: 3, jobSeconds: 0.4 });
  gateway = serviceGateway(sim);
});
afterAll(async () => {
  await gateway?.close();
  await sim?.close();
});

const studentsOf = (courseId: number) =>
  sim.data.enrollments(courseId, { type: ["StudentEnrollment"] }).map((e) => e.user_id as number);

describe("mutations", () => {
  it("updateGrades returns Canvas's Progress; polling progress(id) reaches COMPLETED and the grades are there", async () => {
    const [a, b] = studentsOf(2);
    const assignment = sim.data.assignments(2)[0]!.id as number;
    const started = await gql(
      gateway,
      `mutation($grades: [GradeInput!]!) {
        updateGrades(courseId: "2", assignmentId: "${assignment}", grades: $grades) { id workflowState done }
      }`,
      {
        variables: {
          grades: [
            { studentId: String(a), postedGrade: "7", comment: "well argued" },
            { studentId: String(b), excuse: true },
          ],
        },
      },
    );
    expect(started.body.errors).toBeUndefined();
    const progress = (started.body.data as { updateGrades: { id: string; done: boolean } }).updateGrades;
    expect(progress.done).toBe(false);

    let state = "";
    for (let i = 0; i < 50 && state !== "COMPLETED"; i++) {
      const polled = await gql(
        gateway,
        `{ progress(id: "${progress.id}") { workflowState completion done } }`,
      );
      state = (polled.body.data as { progress: { workflowState: string } }).progress.workflowState;
      if (state !== "COMPLETED") await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(state).toBe("COMPLETED");
    const check = await gql(
      gateway,
      `{ course(id: "2") {
          a: student(id: "${a}") { submissions(assignmentIds: ["${assignment}"]) { score excused } }
          b: student(id: "${b}") { submissions(assignmentIds: ["${assignment}"]) { score excused } }
      } }`,
    );
    const course = (
      check.body.data as {
        course: Record<string, { submissions: Array<{ score: number; excused: boolean }> }>;
      }
    ).course;
    expect(course.a!.submissions[0]!.score).toBe(7);
    expect(course.b!.submissions[0]!.excused).toBe(true);
  });

  it("the progress subscription streams states over SSE until the job is done", async () => {
    const [student] = studentsOf(1);
    const assignment = sim.data.assignments(1)[1]!.id as number;
    const started = await gql(
      gateway,
      `mutation { updateGrades(courseId: "1", assignmentId: "${assignment}", grades: [{ studentId: "${student}", postedGrade: "5" }]) { id } }`,
    );
    const id = (started.body.data as { updateGrades: { id: string } }).updateGrades.id;
    const response = await gateway.fetch("http://gateway.test/graphql", {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "x-api-key": API_KEY },
      body: JSON.stringify({
        query: `subscription { progress(id: "${id}", intervalMs: 200) { workflowState done } }`,
      }),
    });
    expect(response.headers.get("content-type")).toMatch(/text\/event-stream/);
    const text = await response.text();
    const events = [...text.matchAll(/^data: (.+)$/gm)].map((m) => JSON.parse(m[1]!) as { data?: unknown });
    const states = events
      .filter((e) => e.data)
      .map((e) => (e.data as { progress: { workflowState: string } }).progress.workflowState);
    expect(states.at(-1)).toBe("COMPLETED");
    expect(states.length).toBeGreaterThanOrEqual(1);
  });

  it("setLastAttended writes Canvas's last_attended_at, which attendance then shows", async () => {
    const [student] = studentsOf(3);
    const result = await gql(
      gateway,
      `mutation { setLastAttended(courseId: "3", studentId: "${student}", date: "2026-10-14T09:30:00Z") { courseId studentId lastAttendedAt } }`,
    );
    expect(result.body.errors).toBeUndefined();
    const payload = (result.body.data as { setLastAttended: { lastAttendedAt: string } }).setLastAttended;
    expect(Date.parse(payload.lastAttendedAt)).toBe(Date.parse("2026-10-14T09:30:00Z"));
    const read = await gql(
      gateway,
      `{ course(id: "3") { student(id: "${student}") { attendance { lastAttendedAt } } } }`,
    );
    const seen = (read.body.data as { course: { student: { attendance: { lastAttendedAt: string } } } })
      .course.student.attendance.lastAttendedAt;
    expect(Date.parse(seen)).toBe(Date.parse("2026-10-14T09:30:00Z"));
  });

  it("rejects bad input before Canvas: duplicate students, nothing to change, bad dates", async () => {
    sim.resetStats();
    const dup = await gql(
      gateway,
      'mutation { updateGrades(courseId: "1", assignmentId: "1", grades: [{ studentId: "5", postedGrade: "1" }, { studentId: "5", excuse: true }]) { id } }',
    );
    expect(dup.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const empty = await gql(
      gateway,
      'mutation { updateGrades(courseId: "1", assignmentId: "1", grades: [{ studentId: "5" }]) { id } }',
    );
    expect(empty.body.errors?.[0]?.extensions?.code).toBe("BAD_USER_INPUT");
    const date = await gql(
      gateway,
      'mutation { setLastAttended(courseId: "1", studentId: "5", date: "yesterday") { courseId } }',
    );
    expect(date.status).toBe(400);
    expect(sim.stats().requests.total).toBe(0);
  });
});

describe("request timeout", () => {
  it("a request slower than requestTimeoutMs gets GATEWAY_TIMEOUT (504)", async () => {
    const impatient = serviceGateway(sim, { requestTimeoutMs: 150 });
    try {
      sim.faults.add("slow=1000:x1@GET /api/v1/users/:id");
      const started = Date.now();
      const result = await gql(impatient, "{ viewer { id } }");
      expect(Date.now() - started).toBeLessThan(900);
      expect(result.status).toBe(504);
      expect(result.body.errors?.[0]?.extensions?.code).toBe("GATEWAY_TIMEOUT");
    } finally {
      sim.faults.clear();
      await impatient.close();
    }
  });
});
