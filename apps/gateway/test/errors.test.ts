import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Gateway } from "../src/index.js";
import { gql, serviceGateway, startSim } from "./helpers.js";

let sim: CanvasSim;
let gateway: Gateway;
const extra: Gateway[] = [];

beforeAll(async () => {
  sim = await startSim();
  gateway = serviceGateway(sim);
});
afterEach(() => {
  sim.faults.clear();
  sim.admin.setAnalyticsEnabled(true);
});
afterAll(async () => {
  await Promise.all([gateway, ...extra].map((g) => g.close()));
  await sim?.close();
});

function codes(result: Awaited<ReturnType<typeof gql>>): string[] {
  return (result.body.errors ?? []).map((e) => String(e.extensions?.code));
}

describe("Canvas failures become masked GraphQL errors with a code", () => {
  it("a course Canvas forbids → FORBIDDEN (403), data null, no Canvas detail in the message", async () => {
    sim.admin.setCourseForbidden(sim.data.adminUserId, 2, true);
    try {
      const result = await gql(gateway, '{ course(id: "2") { id name } }');
      expect(result.status).toBe(403);
      expect(result.body.data).toEqual({ course: null });
      expect(codes(result)).toEqual(["FORBIDDEN"]);
      expect(result.body.errors![0]!.path).toEqual(["course"]);
      expect(result.text).not.toMatch(/api\/v1|unauthorized|not authorized/i);
    } finally {
      sim.admin.setCourseForbidden(sim.data.adminUserId, 2, false);
    }
  });

  it("a course that does not exist → NOT_FOUND", async () => {
    const result = await gql(gateway, '{ course(id: "999") { name } }');
    expect(codes(result)).toEqual(["NOT_FOUND"]);
    expect(result.body.data).toEqual({ course: null });
  });

  it("an id that is not a Canvas id → BAD_USER_INPUT before any Canvas request", async () => {
    sim.resetStats();
    const result = await gql(gateway, '{ course(id: "../users/self") { name } }');
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(sim.stats().requests.total).toBe(0);
  });

  it("a revoked token → REAUTH_REQUIRED (401)", async () => {
    const token = sim.admin.createDeveloperToken({
      userId: sim.data.adminUserId,
      purpose: "revoked in a test",
    });
    const revokedGateway = serviceGateway(sim, { auth: token });
    extra.push(revokedGateway);
    expect((await gql(revokedGateway, "{ viewer { id } }")).status).toBe(200);
    sim.admin.revokeToken(token);
    const result = await gql(revokedGateway, "{ viewer { id } }");
    expect(result.status).toBe(401);
    expect(codes(result)).toEqual(["REAUTH_REQUIRED"]);
    expect(result.text).not.toContain(token);
  });

  it("Canvas 5xx (after the client's retries) → UPSTREAM_UNAVAILABLE; malformed answers too", async () => {
    sim.faults.add("503:x1@GET /api/v1/courses/:id");
    const unavailable = await gql(gateway, '{ course(id: "1") { name } }');
    expect(codes(unavailable)).toEqual(["UPSTREAM_UNAVAILABLE"]);
    expect(unavailable.status).toBe(502);

    sim.faults.add("malformed:x1@GET /api/v1/courses/:id");
    const malformed = await gql(gateway, '{ course(id: "1") { name } }');
    expect(codes(malformed)).toEqual(["UPSTREAM_UNAVAILABLE"]);
  });

  it("Canvas still throttling after the retry budget → RATE_LIMITED (429)", async () => {
    sim.faults.add("429:x1@GET /api/v1/users/self");
    const result = await gql(gateway, "{ viewer { id } }");
    expect(result.status).toBe(429);
    expect(codes(result)).toEqual(["RATE_LIMITED"]);
  });

  it("a failing endpoint fails only its fields: grades still arrive when analytics is off", async () => {
    sim.admin.setAnalyticsEnabled(false);
    const result = await gql(
      gateway,
      '{ course(id: "1") { students(first: 2) { nodes { id grades { currentScore } engagement { pageViews } } } } }',
    );
    const nodes = (
      result.body.data as {
        course: { students: { nodes: Array<{ grades: unknown; engagement: { pageViews: unknown } }> } };
      }
    ).course.students.nodes;
    expect(nodes).toHaveLength(2);
    for (const node of nodes) {
      expect(node.grades).not.toBeNull();
      expect(node.engagement.pageViews).toBeNull();
    }
    expect(new Set(codes(result))).toEqual(new Set(["NOT_FOUND"]));
  });

  it("a failed analytics walk errors each summary field at its own path; enrollment fields of the same object still answer", async () => {
    // The planner starts the summaries walk and the fields then read its answer without a load
    // each: when that walk fails, every field must still get its own error, and only those.
    sim.admin.setAnalyticsEnabled(false);
    const result = await gql(
      gateway,
      '{ course(id: "1") { students(first: 3) { nodes { id engagement { pageViews participations lastActivityAt } attendance { lastAttendedAt rollCallScore } } } } }',
    );
    const nodes = (
      result.body.data as {
        course: {
          students: {
            nodes: Array<{
              engagement: { pageViews: unknown; participations: unknown; lastActivityAt: unknown };
              attendance: { lastAttendedAt: unknown };
            }>;
          };
        };
      }
    ).course.students.nodes;
    expect(nodes).toHaveLength(3);
    const enrollments = sim.data.enrollments(1, { type: ["StudentEnrollment"] });
    for (const [i, node] of nodes.entries()) {
      expect(node.engagement.pageViews).toBeNull();
      expect(node.engagement.participations).toBeNull();
      expect(node.engagement.lastActivityAt).toBe(enrollments[i]!.last_activity_at ?? null);
      expect(node.attendance.lastAttendedAt).toBe(enrollments[i]!.last_attended_at ?? null);
    }
    const paths = (result.body.errors ?? []).map((e) => (e.path ?? []).join("."));
    const expected = [0, 1, 2].flatMap((i) => [
      `course.students.nodes.${i}.engagement.pageViews`,
      `course.students.nodes.${i}.engagement.participations`,
    ]);
    expect(paths.sort()).toEqual(expected.sort());
    expect(new Set(codes(result))).toEqual(new Set(["NOT_FOUND"]));
  });

  it("anything unexpected is masked: 'Unexpected error.' and INTERNAL_SERVER_ERROR, the original only in the log", async () => {
    const secret = "internal-detail-that-must-not-leak";
    const broken = serviceGateway(sim, {
      auth: {
        getAccessToken: async () => {
          throw new Error(secret);
        },
        handleUnauthorized: async () => {
          throw new Error(secret);
        },
      },
    });
    extra.push(broken);
    const result = await gql(broken, "{ viewer { id } }");
    expect(codes(result)).toEqual(["INTERNAL_SERVER_ERROR"]);
    expect(result.body.errors![0]!.message).toBe("Unexpected error.");
    expect(result.text).not.toContain(secret);
  });

  it("argument validation errors keep their (safe) message", async () => {
    const result = await gql(
      gateway,
      'mutation { updateGrades(courseId: "1", assignmentId: "2", grades: []) { id } }',
    );
    expect(codes(result)).toEqual(["BAD_USER_INPUT"]);
    expect(result.body.errors![0]!.message).toMatch(/grades must list 1 to 500 students/);
  });
});
