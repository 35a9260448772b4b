import { existsSync } from "node:fs";
import { tempDir } from "@easel/test-utils";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Running, startEasel, startSim, waitWhileRunning } from "./export-helpers.js";

/**
 * `easel demo` as a new user meets it, with its default data: GraphiQL answers on the first click,
 * the data look like a real course, the banner's counts are the API's, and a client's mistake is
 * one warn line on the terminal.
 */
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const haveChromium = existsSync(CHROMIUM);
if (!haveChromium) console.log(`[demo-first-hour.test] browser test SKIPPED: ${CHROMIUM} is missing`);

interface Student {
  grades: { currentScore: number | null; currentGrade: string | null };
  attendance: { lastAttendedAt: string | null; rollCallScore: number | null };
}

let demo: Running;
let url: string;
let key: string;

async function gql<T>(
  query: string,
): Promise<{ data?: T; errors?: Array<{ extensions?: { code?: string } }> }> {
  const response = await fetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key },
    body: JSON.stringify({ query }),
  });
  return (await response.json()) as { data?: T };
}

beforeAll(async () => {
  demo = startEasel(["demo", "--port", "0"], {}, tempDir());
  await waitWhileRunning(demo, async () => demo.stdout().includes("Press Ctrl+C to stop."), "the banner");
  url = /GraphiQL\s+(http:\/\/\S+\/graphql)/.exec(demo.stdout())![1]!;
  key = /API key\s+(\S+)/.exec(demo.stdout())![1]!;
});

afterAll(async () => {
  demo?.child.kill("SIGTERM");
  expect((await demo.done).status).toBe(0);
});

describe("easel demo, the first hour", () => {
  it("the banner's student counts are what the API returns", async () => {
    const banner = demo.stdout();
    const counts = [...banner.matchAll(/course (\d+): (\d+) enrolled, (\d+) listed/g)];
    expect(counts.map((match) => match[1])).toEqual(["1", "2", "3"]);
    for (const [, courseId, enrolled, listed] of counts) {
      expect(Number(enrolled)).toBe(30);
      const answer = await gql<{ course: { students: { totalCount: number } } }>(
        `{ course(id: "${courseId}") { students(first: 1) { totalCount } } }`,
      );
      expect(answer.data!.course.students.totalCount, `course ${courseId}`).toBe(Number(listed));
    }
    // Course 2 lists fewer than it enrolls, and the banner says why.
    expect(banner).toMatch(/course 2: 30 enrolled, 28 listed \(.*\); 2 completed, not listed/);
  });

  it("course 1 looks like a real course: letter grades, last-attended dates and Roll Call scores", async () => {
    const answer = await gql<{ course: { students: { nodes: Student[] } } }>(
      '{ course(id: "1") { students { nodes { grades { currentScore currentGrade } attendance { lastAttendedAt rollCallScore } } } } }',
    );
    const students = answer.data!.course.students.nodes;
    expect(students).toHaveLength(30);
    const most = (count: number) => expect(count).toBeGreaterThanOrEqual(students.length * 0.8);
    most(students.filter((s) => /^[A-DF][+-]?$/.test(s.grades.currentGrade ?? "")).length);
    most(students.filter((s) => s.attendance.lastAttendedAt !== null).length);
    most(students.filter((s) => s.attendance.rollCallScore !== null).length);
  });

  it("a client's mistake is one warn line on the terminal, without a stack trace", async () => {
    for (const [query, code] of [
      ['{ course(id: "999") { name } }', "NOT_FOUND"],
      ['{ course(id: "abc") { name } }', "BAD_USER_INPUT"],
    ] as const) {
      const before = demo.stderr().length;
      const answer = await gql(query);
      expect(answer.errors?.[0]?.extensions?.code).toBe(code);
      // The line is written as the response goes out: wait for it, then for any stragglers.
      await waitWhileRunning(demo, async () => demo.stderr().length > before, "the warn line");
      await gql("{ viewer { id } }");
      const lines = demo.stderr().slice(before).split("\n").filter(Boolean);
      expect(lines, lines.join("\n")).toHaveLength(1);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      expect(line).toMatchObject({ level: 40, clientErrors: [{ code }] });
      expect(lines[0]).not.toMatch(/stack|\\n\s+at /);
    }
  });

  describe.skipIf(!haveChromium)("GraphiQL in a browser", () => {
    let browser: Browser;
    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        headless: true,
        args: ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
      });
    });
    afterAll(() => browser?.close());

    it("opens with the API key in its headers and answers the example query on the first click", async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      // The page inlines ~9 MB of JavaScript: on a loaded 2-core machine it takes a while to start.
      await page.goto(url, { waitUntil: "domcontentloaded", timeout: 120_000 });
      await page.waitForSelector(".graphiql-execute-button", { timeout: 120_000 });
      // Monaco renders spaces as U+00A0: normalise before matching.
      const text = async (selector: string) =>
        ((await page.locator(selector).first().textContent()) ?? "").replace(/\u00a0/g, " ");
      await page.getByText("Headers", { exact: true }).click();
      await expect.poll(() => text(".graphiql-editor-tool"), { timeout: 20_000 }).toContain(key);

      await page.click(".graphiql-execute-button");
      await expect.poll(() => text(".graphiql-response"), { timeout: 30_000 }).toMatch(/"totalCount": 30/);
      const result = await text(".graphiql-response");
      expect(result).not.toContain("UNAUTHENTICATED");
      expect(result).toMatch(/"currentGrade": "[A-DF][+-]?"/);
      expect(result).toMatch(/"rollCallScore": \d+/);
      await context.close();
    }, 300_000);
  });

  it("`easel serve --graphiql` never pre-fills an API key into its page", async () => {
    const sim = await startSim({ courses: 1, studentsPerCourse: 2, assignmentsPerCourse: 1 });
    const apiKey = "serve-key-0123456789abcdef";
    const serve = startEasel(
      ["serve", "--port", "0", "--graphiql", "--base-url", sim.url],
      { EASEL_GATEWAY_KEYS: apiKey, CANVAS_ACCESS_TOKEN: sim.developerToken },
      tempDir(),
    );
    try {
      await waitWhileRunning(serve, async () => serve.stderr().includes("Press Ctrl+C"), "the gateway");
      const served = /on (http:\/\/\S+\/graphql)/.exec(serve.stderr())![1]!;
      const page = await (await fetch(served, { headers: { accept: "text/html" } })).text();
      expect(page).toContain("renderYogaGraphiQL");
      expect(page).not.toContain(apiKey);
      expect(page).not.toContain("x-api-key");
    } finally {
      serve.child.kill("SIGTERM");
      await serve.done;
      await sim.close();
    }
  });
});
