/**
 * The baseline for the gateway's overhead: a bare node:http server that answers one route with
 * the same data as the gateway's course overview query, made of the same Canvas calls through
 * `CanvasClient` (course, student enrollments, student summaries, assignments, Roll Call
 * submissions), with no GraphQL in between. argv[2]: { canvasBaseUrl, courseId }.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { CanvasClient, isRollCallAssignment } from "@easel/canvas-client";

const { canvasBaseUrl, courseId } = JSON.parse(process.argv[2]!) as {
  canvasBaseUrl: string;
  courseId: number;
};
const client = new CanvasClient({
  baseUrl: canvasBaseUrl,
  auth: process.env.CANVAS_ACCESS_TOKEN!,
  pacing: false,
});

async function all<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

async function overview() {
  const [course, enrollments, summaries, assignments] = await Promise.all([
    client.courses.get(courseId, { include: ["term"] }),
    all(client.enrollments.forCourse(courseId, { type: ["StudentEnrollment"] })),
    all(client.analytics.studentSummaries(courseId)),
    all(client.assignments.list(courseId)),
  ]);
  const seen = new Set<number>();
  const students = enrollments.filter((e) => !seen.has(e.user_id) && seen.add(e.user_id));
  const rollCall = assignments.find(isRollCallAssignment);
  const scores = new Map<number, number | null>();
  if (rollCall) {
    // Chunks of at most 100 students, one after the other, as canvas-client sends them.
    const groups = client.submissions.forStudents(courseId, {
      grouped: true,
      assignmentIds: [rollCall.id],
      studentIds: students.map((s) => s.user_id),
    });
    for await (const group of groups) scores.set(group.user_id, group.submissions[0]?.score ?? null);
  }
  const summaryOf = new Map(summaries.map((s) => [s.id, s]));
  return {
    course: {
      id: String(course.id),
      name: course.name,
      students: {
        totalCount: students.length,
        nodes: students.map((e) => {
          const summary = summaryOf.get(e.user_id);
          return {
            id: String(e.user_id),
            name: e.user?.name ?? "",
            grades: {
              currentScore: e.grades?.current_score ?? null,
              finalScore: e.grades?.final_score ?? null,
              currentGrade: e.grades?.current_grade ?? null,
            },
            attendance: {
              lastAttendedAt: e.last_attended_at ?? null,
              rollCallScore: scores.get(e.user_id) ?? null,
            },
            engagement: {
              pageViews: summary?.page_views ?? null,
              participations: summary?.participations ?? null,
              participationsLevel: summary?.participations_level ?? null,
              lastActivityAt: e.last_activity_at ?? null,
            },
          };
        }),
      },
    },
  };
}

const server = createServer((req, res) => {
  overview().then(
    (data) => {
      const body = JSON.stringify({ data });
      res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
      res.end(body);
    },
    (error: unknown) => {
      res.writeHead(502, { "content-type": "text/plain" });
      res.end((error as Error).message);
    },
  );
  req.resume();
});
server.listen(0, "127.0.0.1", () => {
  const { port } = server.address() as AddressInfo;
  process.send!({ url: `http://127.0.0.1:${port}` });
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  void client.close().finally(() => process.exit(0));
};
process.on("disconnect", stop);
process.on("SIGTERM", stop);
