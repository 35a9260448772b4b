import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim, ProgressJson } from "../src/index.js";
import { call, startSim } from "./helpers.js";

type Submission = {
  score: number | null;
  grade: string | null;
  workflow_state: string;
  excused: boolean;
  grader_id: number | null;
};

let sim: CanvasSim;
beforeAll(async () => {
  // A frozen clock makes the Progress lifecycle exact: it moves only with advanceClock.
  sim = await startSim({
    courses: 2,
    studentsPerCourse: 12,
    assignmentsPerCourse: 5,
    freezeClock: true,
    jobSeconds: 2,
  });
});
afterAll(() => sim.close());

const pointsAssignment = () =>
  sim.data.assignments(2).find((assignment) => assignment.grading_type === "points")!;

describe("update_grades and Progress", () => {
  it("returns a queued Progress that runs, then completes; grades appear when it completes", async () => {
    const assignment = pointsAssignment();
    const [first, second] = sim.data.studentIds(2);
    const points = assignment.points_possible as number;
    const queued = await call<ProgressJson>(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/update_grades`,
      {
        form: {
          [`grade_data[${first}][posted_grade]`]: String(points - 1),
          [`grade_data[${second}][excuse]`]: "true",
        },
      },
    );
    expect(queued.status).toBe(200);
    expect(queued.body).toMatchObject({
      context_id: 2,
      context_type: "Course",
      user_id: null,
      tag: "submissions_update",
      completion: 0,
      workflow_state: "queued",
      message: null,
    });
    expect(queued.body.url).toBe(`${sim.url}/api/v1/progress/${queued.body.id}`);
    const progressPath = `/api/v1/progress/${queued.body.id}`;

    sim.advanceClock(1.5);
    const running = await call<ProgressJson>(sim, progressPath);
    expect(running.body.workflow_state).toBe("running");
    expect(running.body.completion).toBe(50);
    const before = await call<Submission>(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/${first}`,
    );
    expect(before.body.score === points - 1 && before.body.grader_id === 1).toBe(false);

    sim.advanceClock(1);
    const done = await call<ProgressJson>(sim, progressPath);
    expect(done.body.workflow_state).toBe("completed");
    expect(done.body.completion).toBe(100);
    const graded = await call<Submission>(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/${first}`,
    );
    expect(graded.body).toMatchObject({
      score: points - 1,
      grade: String(points - 1),
      workflow_state: "graded",
      grader_id: 1,
    });
    const excused = sim.data.submission(2, assignment.id, second!)!;
    expect(excused).toMatchObject({ excused: true, score: null });
  });

  it("unknown students fail the Progress with Canvas's message, but the others are still graded", async () => {
    const assignment = pointsAssignment();
    const student = sim.data.studentIds(2)[5]!;
    const result = await call<ProgressJson>(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/update_grades`,
      {
        form: {
          [`grade_data[${student}][posted_grade]`]: "100%",
          "grade_data[999999][posted_grade]": "1",
          "grade_data[888888][posted_grade]": "2",
        },
      },
    );
    sim.advanceClock(3);
    const progress = await call<ProgressJson>(sim, `/api/v1/progress/${result.body.id}`);
    expect(progress.body.workflow_state).toBe("failed");
    expect(progress.body.message).toBe("Couldn't find User(s) with API ids '999999', '888888'");
    expect(sim.data.submission(2, assignment.id, student)).toMatchObject({
      score: assignment.points_possible,
      workflow_state: "graded",
    });
  });

  it("recomputes enrollment grades after grading", async () => {
    const student = sim.data.studentIds(2)[7]!;
    const grades = () => sim.data.grades(2, student)!;
    const form: Record<string, string> = {};
    for (const assignment of sim.data.assignments(2))
      form[`grade_data[${assignment.id}][${student}][posted_grade]`] = "0";
    const result = await call<ProgressJson>(sim, "/api/v1/courses/2/submissions/update_grades", { form });
    sim.advanceClock(3);
    expect((await call<ProgressJson>(sim, `/api/v1/progress/${result.body.id}`)).body.workflow_state).toBe(
      "completed",
    );
    expect(grades()).toMatchObject({ current_score: 0, final_score: 0 });
    const enrollment = await call<Array<{ grades: { current_score: number } }>>(
      sim,
      `/api/v1/courses/2/enrollments?user_id=${student}`,
    );
    expect(enrollment.body[0]!.grades.current_score).toBe(0);
  });

  it("a student cannot grade; an unknown progress is 404", async () => {
    const student = sim.data.studentIds(2)[0]!;
    const { access_token } = sim.admin.mintOAuthTokens({ userId: student });
    const assignment = pointsAssignment();
    const refused = await call(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/update_grades`,
      {
        token: access_token,
        form: { [`grade_data[${student}][posted_grade]`]: "1" },
      },
    );
    expect(refused.status).toBe(403);
    expect((await call(sim, "/api/v1/progress/424242")).status).toBe(404);
  });
});

describe("PUT .../users/:user_id/last_attended", () => {
  it("sets last_attended_at on the enrollment and returns {date}", async () => {
    const student = sim.data.studentIds(1)[2]!;
    const result = await call(sim, `/api/v1/courses/1/users/${student}/last_attended`, {
      method: "PUT",
      form: { date: "2026-10-01T09:30:00Z" },
    });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ date: "2026-10-01T09:30:00Z" });
    expect(sim.data.lastAttended(1, student)).toBe("2026-10-01T09:30:00Z");
    const enrollment = await call<Array<{ last_attended_at: string }>>(
      sim,
      `/api/v1/courses/1/enrollments?user_id=${student}`,
    );
    expect(enrollment.body[0]!.last_attended_at).toBe("2026-10-01T09:30:00Z");
  });

  it("an unparsable date → 400 Invalid date time input", async () => {
    const student = sim.data.studentIds(1)[2]!;
    for (const form of [{ date: "not a date" }, {}] as Array<Record<string, string>>) {
      const result = await call(sim, `/api/v1/courses/1/users/${student}/last_attended`, {
        method: "PUT",
        form,
      });
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ message: "Invalid date time input" });
    }
  });
});

describe("update_grades with a JSON body", () => {
  it("accepts grade_data as nested JSON", async () => {
    const assignment = pointsAssignment();
    const student = sim.data.studentIds(2)[9]!;
    const result = await call<ProgressJson>(
      sim,
      `/api/v1/courses/2/assignments/${assignment.id}/submissions/update_grades`,
      {
        json: { grade_data: { [student]: { posted_grade: "1" } } },
      },
    );
    sim.advanceClock(3);
    expect((await call<ProgressJson>(sim, `/api/v1/progress/${result.body.id}`)).body.workflow_state).toBe(
      "completed",
    );
    expect(sim.data.submission(2, assignment.id, student)).toMatchObject({ score: 1, grade: "1" });
  });
});
