import { spawn } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN, tempDir } from "./cli-helpers.js";

const OUTSIDE_QUERY =
  '{ course(id: "1") { id name students(first: 100) { nodes { id name grades { currentScore finalScore } attendance { lastAttendedAt } engagement { pageViews participations } } } } }';

describe("easel demo", () => {
  it("starts the simulator and the gateway, prints the URL, key and a curl line, answers, stops on SIGTERM", async () => {
    const child = spawn(
      process.execPath,
      [BIN, "demo", "--port", "0", "--students", "12", "--assignments", "3"],
      {
        env: { PATH: process.env.PATH, HOME: tempDir() },
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString("utf8");
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString("utf8");
    });
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    try {
      const deadline = Date.now() + 30_000;
      while (!stdout.includes("Press Ctrl+C to stop.") && Date.now() < deadline) {
        if (child.exitCode !== null) throw new Error(`demo exited early: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const url = /GraphiQL\s+(http:\/\/\S+\/graphql)/.exec(stdout)?.[1];
      const key = /API key\s+(\S+)/.exec(stdout)?.[1];
      expect(url, stdout).toBeTruthy();
      expect(key).toMatch(/^easel_demo_/);
      expect(stdout).toContain(`curl -s ${url}`);
      expect(stdout).toContain(`x-api-key: ${key}`);

      const response = await fetch(url!, {
        method: "POST",
        headers: { "content-type": "application/json", "x-api-key": key! },
        body: JSON.stringify({ query: OUTSIDE_QUERY }),
      });
      expect(response.status).toBe(200);
      const body = (await response.json()) as {
        data: { course: { id: string; students: { nodes: Array<{ grades: { currentScore: number } }> } } };
      };
      expect(body.data.course.id).toBe("1");
      expect(body.data.course.students.nodes.length).toBeGreaterThan(0);
      expect(typeof body.data.course.students.nodes[0]!.grades.currentScore).toBe("number");
      const page = await fetch(url!, { headers: { accept: "text/html" } });
      expect(await page.text()).toContain("CourseOverview");
    } finally {
      child.kill("SIGTERM");
    }
    expect(await exited).toBe(0);
    expect(stdout).toContain("Stopped.");
  });
});
