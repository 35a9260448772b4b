import { tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { startEasel, waitWhileRunning } from "./export-helpers.js";

const OUTSIDE_QUERY =
  '{ course(id: "1") { id name students(first: 100) { nodes { id name grades { currentScore finalScore } attendance { lastAttendedAt } engagement { pageViews participations } } } } }';

describe("easel demo", () => {
  it("starts the simulator and the gateway, prints the URL, key and a curl line, answers, stops on SIGTERM", async () => {
    const demo = startEasel(["demo", "--port", "0", "--students", "12", "--assignments", "3"], {}, tempDir());
    try {
      await waitWhileRunning(demo, async () => demo.stdout().includes("Press Ctrl+C to stop."), "the banner");
      const stdout = demo.stdout();
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
      demo.child.kill("SIGTERM");
    }
    const stopped = await demo.done;
    expect(stopped.status).toBe(0);
    expect(stopped.stdout).toContain("Stopped.");
  });
});
