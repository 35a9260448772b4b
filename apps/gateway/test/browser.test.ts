import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CanvasSim } from "@easel/canvas-sim";
import { MemoryStore } from "@easel/token-store";
import { type Browser, chromium } from "playwright-core";
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

describe.skipIf("skip" in found)("browser: user-mode login through Canvas consent, then GraphiQL", () => {
  let sim: CanvasSim;
  let running: RunningGateway;
  let browser: Browser;

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
    const teacher = sim.data.staff(1)[0]!;
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    const page = await context.newPage();
    // The GraphiQL page redirects to /auth/login, which redirects to Canvas's consent page.
    await page.goto(`${running.url}/graphql`);
    await page.waitForURL((url) => url.href.startsWith(`${sim.url}/login/oauth2/auth`));
    await page.fill("#unique_id", String(teacher.login_id));
    await page.click("#authorize");
    // Back through /auth/callback to GraphiQL, now with a session cookie.
    await page.waitForURL(`${running.url}/graphql`);
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
});
