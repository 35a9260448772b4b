import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CanvasSim } from "@easel/canvas-sim";
import { MemoryStore } from "@easel/token-store";
import { type Browser, type BrowserContext, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningGateway, startGateway } from "../src/index.js";
import { startSim } from "./helpers.js";

const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const OUTPUT_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", ".test-output");

/**
 * Debian's chromium, installed once with apt when missing and we are root (CI images); anything
 * else skips with the reason printed.
 */
function findChromium(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM)) return { path: CHROMIUM };
  if (process.getuid?.() === 0) {
    console.log(`[browser.test] ${CHROMIUM} missing: trying apt-get install -y chromium`);
    spawnSync("apt-get", ["update"], { stdio: "inherit", timeout: 180_000 });
    spawnSync("apt-get", ["install", "-y", "chromium"], {
      stdio: "inherit",
      timeout: 600_000,
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    });
    if (existsSync(CHROMIUM)) return { path: CHROMIUM };
    return { skip: `${CHROMIUM} is missing and apt-get install -y chromium did not provide it` };
  }
  return { skip: `${CHROMIUM} is missing and this user cannot apt-get install chromium (not root)` };
}

const found = findChromium();
if ("skip" in found) console.log(`[browser.test] SKIPPED: ${found.skip}`);

const QUERY = `{
  course(id: "1") {
    name
    students(first: 3) { nodes { name grades { currentScore finalScore } } }
  }
}`;

/**
 * A page on another origin of the same site (another port on 127.0.0.1), as a hostile page on
 * another subdomain of the school's domain: a plain form that posts a mutation to the gateway.
 */
async function startFormPage(action: string, query: string): Promise<{ url: string; server: Server }> {
  const escaped = query.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;");
  const html = `<!doctype html><html><body>
<form id="f" method="POST" action="${action}"><input type="hidden" name="query" value="${escaped}"></form>
<script>document.getElementById("f").submit();</script></body></html>`;
  const server = createServer((_request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, server };
}

describe.skipIf("skip" in found)("browser: user-mode login through Canvas consent, then GraphiQL", () => {
  let sim: CanvasSim;
  let running: RunningGateway;
  let browser: Browser;

  /** Logs a teacher in through the consent page; ends on GraphiQL with a session cookie. */
  async function logIn(context: BrowserContext) {
    const teacher = sim.data.staff(1)[0]!;
    const page = await context.newPage();
    // The GraphiQL page redirects to /auth/login, which redirects to Canvas's consent page.
    await page.goto(`${running.url}/graphql`);
    await page.waitForURL((url) => url.href.startsWith(`${sim.url}/login/oauth2/auth`));
    await page.fill("#unique_id", String(teacher.login_id));
    await page.click("#authorize");
    // Back through /auth/callback to GraphiQL, now with a session cookie.
    await page.waitForURL(`${running.url}/graphql`);
    return page;
  }

  beforeAll(async () => {
    sim = await startSim({ studentsPerCourse: 6, assignmentsPerCourse: 2 });
    running = await startGateway({
      mode: "user",
      canvasBaseUrl: sim.url,
      oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
      store: new MemoryStore(),
      sessionSecret: "browser-test-session-secret-0123456789abcdef",
      graphiql: { defaultQuery: QUERY },
      logger: false,
      port: 0,
    });
    browser = await chromium.launch({
      executablePath: (found as { path: string }).path,
      headless: true,
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
    await running?.close();
    await sim?.close();
  });

  it("logs in (Authorize on the simulator's consent page) and runs a grades query in GraphiQL", async () => {
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await logIn(context);
    const cookies = await context.cookies(running.url);
    const session = cookies.find((c) => c.name === "easel_session");
    expect(session).toMatchObject({ httpOnly: true, sameSite: "Lax", secure: false });

    await page.waitForSelector(".graphiql-execute-button", { timeout: 30_000 });
    await page.click(".graphiql-execute-button");
    const response = page.locator(".graphiql-response");
    // Monaco renders spaces as U+00A0: normalise before matching.
    const shown = async () => ((await response.textContent()) ?? "").replace(/\u00a0/g, " ");
    await expect.poll(shown, { timeout: 20_000 }).toMatch(/"currentScore": \d+(\.\d+)?/);
    const text = await shown();
    const firstStudent = sim.data.enrollments(1, { type: ["StudentEnrollment"] })[0]!;
    expect(text).toContain(String((firstStudent.user as { name: string }).name));

    await mkdir(OUTPUT_DIR, { recursive: true });
    const file = join(OUTPUT_DIR, "graphiql-grades.png");
    await page.screenshot({ path: file, fullPage: true });
    // Not blank: a rendered GraphiQL with a result is far above the size of a flat image.
    expect((await stat(file)).size).toBeGreaterThan(10_000);
    await context.close();
  });

  it("a form on another origin of the same site cannot run a mutation with the teacher's session", async () => {
    const context = await browser.newContext();
    await logIn(context);
    const assignmentId = String(sim.data.assignments(1)[0]!.id);
    const studentId = String(sim.data.studentIds(1)[0]);
    const attack = await startFormPage(
      `${running.url}/graphql`,
      `mutation { updateGrades(courseId: "1", assignmentId: "${assignmentId}", grades: [{ studentId: "${studentId}", postedGrade: "0" }]) { id } }`,
    );
    try {
      sim.resetStats();
      const page = await context.newPage();
      const posted = page.waitForResponse(
        (response) => response.url() === `${running.url}/graphql` && response.request().method() === "POST",
      );
      await page.goto(attack.url);
      const response = await posted;
      // The browser did send the session cookie (SameSite=Lax allows a same-site form post):
      // without it the answer would be 401. The form's content type is what is refused.
      expect(response.request().headers()["content-type"]).toMatch(/application\/x-www-form-urlencoded/);
      expect(response.status()).toBe(403);
      expect(await response.json()).toMatchObject({
        errors: [{ extensions: { code: "CSRF_HEADER_REQUIRED" } }],
      });
      expect(sim.stats().requests.total).toBe(0);
    } finally {
      await new Promise((resolve) => attack.server.close(resolve));
      await context.close();
    }
  });
});
