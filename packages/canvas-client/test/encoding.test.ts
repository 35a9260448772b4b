import { afterEach, describe, expect, it } from "vitest";
import { CanvasClient } from "../src/index.js";
import { sendJson, startServer, type TestServer } from "./helpers/http-server.js";

const open: Array<TestServer | CanvasClient> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

describe("Canvas parameter encoding on the wire", () => {
  it("writes arrays as key[]=v, nested forms as a[b][c]=v, bearer auth, and no token in the URL", async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, { ok: true }));
    open.push(server);
    const client = new CanvasClient({ baseUrl: server.url, auth: "tok-123", userAgent: "easel-test/1" });
    open.push(client);

    await client.request("GET", "/api/v1/courses/1/students/submissions", {
      query: {
        student_ids: [1, 2],
        include: ["user"],
        grouped: true,
        skipped: undefined,
        since: new Date(0),
      },
    });
    await client.request("POST", "/api/v1/courses/1/assignments/2/submissions/update_grades", {
      form: { grade_data: { 5: { posted_grade: "A+" }, 6: { excuse: true } } },
    });
    await client.request("PUT", "/api/v1/x", { body: { a: [1, "two"] } });

    const [get, post, put] = server.requests;
    expect(get!.url).toBe(
      "/api/v1/courses/1/students/submissions?student_ids[]=1&student_ids[]=2&include[]=user&grouped=true&since=1970-01-01T00%3A00%3A00.000Z",
    );
    expect(get!.headers.authorization).toBe("Bearer tok-123");
    expect(get!.headers["user-agent"]).toBe("easel-test/1");
    expect(post!.headers["content-type"]).toBe("application/x-www-form-urlencoded");
    expect(new URLSearchParams(post!.body).get("grade_data[5][posted_grade]")).toBe("A+");
    expect(post!.body).toBe("grade_data[5][posted_grade]=A%2B&grade_data[6][excuse]=true");
    expect(put!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(put!.body)).toEqual({ a: [1, "two"] });
  });

  it("chunks explicit student_ids into at most 100 per request and under maxUrlLength", async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, []));
    open.push(server);
    const client = new CanvasClient({ baseUrl: server.url, auth: "tok", maxUrlLength: 2000 });
    open.push(client);
    const ids = Array.from({ length: 450 }, (_, i) => 1_000_000_000 + i);
    const out = [];
    for await (const s of client.submissions.forStudents(7, { studentIds: ids, assignmentIds: [1, 2] }))
      out.push(s);
    expect(out).toHaveLength(0);
    const sent = server.requests.map((r) => new URL(r.url, server.url).searchParams.getAll("student_ids[]"));
    expect(sent.flat()).toEqual(ids.map(String));
    for (const [i, r] of server.requests.entries()) {
      expect(sent[i]!.length).toBeLessThanOrEqual(100);
      expect(`${server.url}${r.url}`.length).toBeLessThanOrEqual(2000);
      expect(new URL(r.url, server.url).searchParams.getAll("assignment_ids[]")).toEqual(["1", "2"]);
    }
    // 2000-byte URLs hold fewer than 100 ten-digit ids.
    expect(server.requests.length).toBeGreaterThan(5);
  });
});
