import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, stat, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import { join } from "node:path";
import type { CanvasSim } from "@easel/canvas-sim";
import { REDIS_URL, tempDir } from "@easel/test-utils";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel, startSim } from "./export-helpers.js";

/** The mistakes of a first hour with `easel`: each says what to do, and costs no Canvas request. */

let sim: CanvasSim;
let root: string;
let fernetKey: string;

async function requests(): Promise<number> {
  return ((await (await fetch(`${sim.url}/__sim/stats`)).json()) as { requests: { total: number } }).requests
    .total;
}

/** A fresh directory (also HOME) per case, so "no files left" means exactly that. */
const freshDir = () => mkdtemp(join(root, "case-"));

/** `easel ...args` in `dir`, asserting how many Canvas requests it made. */
async function run(args: string[], env: Record<string, string>, dir: string, expectedRequests?: number) {
  const before = await requests();
  const result = await easel(args, env, dir);
  if (expectedRequests !== undefined) expect(await requests()).toBe(before + expectedRequests);
  return result;
}

const exportArgs = (out: string, ...more: string[]) => [
  "export",
  "grades",
  "--course",
  "1",
  "--format",
  "csv",
  "--out",
  out,
  ...more,
];
const modeOf = async (path: string) => (await stat(path)).mode & 0o777;

beforeAll(async () => {
  sim = await startSim({ courses: 2, studentsPerCourse: 5, assignmentsPerCourse: 2 });
  root = tempDir("easel-cli-export-");
  fernetKey = (await easel(["key", "generate"], {}, root)).stdout.trim().split("\n")[0]!;
});

afterAll(async () => {
  await sim?.close();
});

describe("credentials", () => {
  it("none at all: names both ways in (CANVAS_ACCESS_TOKEN, easel login), exit 2, no request", async () => {
    const dir = await freshDir();
    const { status, stderr } = await run(
      exportArgs(join(dir, "g.csv")),
      { CANVAS_BASE_URL: sim.url, HOME: dir },
      dir,
      0,
    );
    expect(status).toBe(2);
    expect(stderr).toContain("No Canvas credentials");
    expect(stderr).toContain("export CANVAS_ACCESS_TOKEN=");
    expect(stderr).toContain("`easel login`");
    expect(stderr).toContain("EASEL_FERNET_KEY");
  });

  it("a store without the record: says so (exit 3), not 'revoked', no request and no files", async () => {
    const dir = await freshDir();
    const { status, stderr } = await run(
      exportArgs(join(dir, "g.csv"), "--store", `file:${join(dir, "tokens.enc")}`),
      { CANVAS_BASE_URL: sim.url, EASEL_FERNET_KEY: fernetKey },
      dir,
      0,
    );
    expect(status).toBe(3);
    expect(stderr).toBe(
      `easel: no token record default in file:${join(dir, "tokens.enc")}: run \`easel login\` or \`easel token import\`` +
        " (or set CANVAS_ACCESS_TOKEN to a personal access token).\n",
    );
    expect(stderr).not.toMatch(/revoked/);
    expect(await readdir(dir)).toEqual([]);
  });

  it("a revoked token's printed commands are shell-quoted (a redis store URI with ? and :)", async () => {
    const dir = await freshDir();
    const store = `${REDIS_URL}/0?prefix=easel-first-hour-${randomBytes(4).toString("hex")}:`;
    const env = { EASEL_FERNET_KEY: fernetKey };
    const imported = await easel(
      ["token", "import", "--access-token", "revoked-token-1234567890", "--store", store],
      env,
      dir,
    );
    expect(imported.status, imported.stderr).toBe(0);
    const { status, stderr } = await run(
      exportArgs(join(dir, "g.csv"), "--store", store),
      {
        ...env,
        CANVAS_BASE_URL: sim.url,
      },
      dir,
    );
    expect(status).toBe(3);
    expect(stderr).toContain(`First, run \`easel token import --store '${store}'\`.`);
    expect(stderr).toContain(`--store '${store}' --resume`);
  });
});

describe("easel token show with CANVAS_ACCESS_TOKEN and no stored record", () => {
  it("shows that token's fingerprint and what Canvas says of it, instead of failing on the store", async () => {
    const dir = await freshDir();
    const env = { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken };
    const fingerprint = createHash("sha256").update(sim.developerToken).digest("hex").slice(0, 12);
    const shown = await run(["token", "show"], env, dir, 1);
    expect(shown.stderr).toBe("");
    expect(shown.status).toBe(0);
    expect(shown.stdout).toContain(`fingerprint ${fingerprint}`);
    expect(shown.stdout).toContain(`${sim.url} accepts the token`);
    expect(shown.stdout).not.toContain(sim.developerToken);
    const json = await run(["token", "show", "--json"], { ...env, EASEL_FERNET_KEY: fernetKey }, dir, 1);
    expect(JSON.parse(json.stdout)).toMatchObject({
      source: "CANVAS_ACCESS_TOKEN",
      access_token_fingerprint: fingerprint,
      canvas: { accepted: true },
    });
    const refused = await run(
      ["token", "show"],
      { ...env, CANVAS_ACCESS_TOKEN: "not-a-token-1234567890" },
      dir,
      1,
    );
    expect(refused.status).toBe(3);
    expect(refused.stdout).toContain("refuses the token");
  });
});

describe("printed commands are shell-quoted", () => {
  it("the fix for a missing record names --key and --store as a shell must see them", async () => {
    const dir = await freshDir();
    const store = `${REDIS_URL}/0?prefix=easel-first-hour-${randomBytes(4).toString("hex")}:`;
    const { status, stderr } = await run(
      ["token", "rotate", "--store", store, "--key", "nightly job"],
      { CANVAS_BASE_URL: sim.url, EASEL_FERNET_KEY: fernetKey },
      dir,
      0,
    );
    expect(status).toBe(3);
    expect(stderr).toContain(`To fix it, run:\n  easel token import --key 'nightly job' --store '${store}'`);
  });
});

describe("the Canvas base URL", () => {
  it("ending in /api/v1/ is taken as the root", async () => {
    const dir = await freshDir();
    const out = join(dir, "g.csv");
    const { status, stderr } = await run(
      exportArgs(out),
      { CANVAS_BASE_URL: `${sim.url}/api/v1/`, CANVAS_ACCESS_TOKEN: sim.developerToken },
      dir,
    );
    expect(stderr).toMatch(/^easel: exported \d+ grades rows from 1\/1 courses/);
    expect(status).toBe(0);
  });

  it("plain http:// for another host is refused with the https URL to use, exit 2, no request", async () => {
    const dir = await freshDir();
    const { status, stderr } = await run(
      [...exportArgs(join(dir, "g.csv")), "--base-url", "http://canvas.example.edu/api/v1"],
      { CANVAS_ACCESS_TOKEN: sim.developerToken },
      dir,
      0,
    );
    expect(status).toBe(2);
    expect(stderr).toContain("use https://canvas.example.edu.");
    expect(await readdir(dir)).toEqual([]);
  });
});

describe("--out", () => {
  const env = () => ({ CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken });

  it("into a missing directory or onto a directory: usage error (exit 2) before any request", async () => {
    const dir = await freshDir();
    const missing = await run(exportArgs(join(dir, "nope", "g.csv")), env(), dir, 0);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain(`The output directory ${join(dir, "nope")} does not exist`);
    const target = join(dir, "reports");
    await mkdir(target);
    const onDir = await run(exportArgs(target), env(), dir, 0);
    expect(onDir.status).toBe(2);
    expect(onDir.stderr).toContain(`The output ${target} is a directory`);
    expect(await readdir(dir)).toEqual(["reports"]);
  });

  it("held by another live export: fails at once naming its pid (exit 1), no request", async () => {
    const dir = await freshDir();
    const out = join(dir, "g.csv");
    await writeFile(`${out}.lock`, JSON.stringify({ pid: process.pid, host: hostname(), startedAt: "x" }));
    const { status, stderr } = await run(exportArgs(out), env(), dir, 0);
    expect(status).toBe(1);
    expect(stderr).toContain(`[EXPORT_OUTPUT_LOCKED] Another export (pid ${process.pid}`);
  });

  it("files are 0600 by default, --mode 0640 when asked", async () => {
    const dir = await freshDir();
    const privateOut = join(dir, "private.csv");
    expect((await run(exportArgs(privateOut), env(), dir)).status).toBe(0);
    expect(await modeOf(privateOut)).toBe(0o600);
    const sharedOut = join(dir, "shared.csv");
    expect((await run(exportArgs(sharedOut, "--mode", "0640"), env(), dir)).status).toBe(0);
    expect(await modeOf(sharedOut)).toBe(0o640);
    const bad = await run(exportArgs(join(dir, "x.csv"), "--mode", "0777"), env(), dir, 0);
    expect(bad.status).toBe(2);
  });
});

describe("a course that does not exist", () => {
  it("says so, exit 1, no partial or checkpoint, no --resume", async () => {
    const dir = await freshDir();
    const { status, stderr } = await run(
      ["export", "grades", "--course", "999", "--format", "csv", "--out", join(dir, "g.csv")],
      { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken },
      dir,
    );
    expect(status).toBe(1);
    expect(stderr).toMatch(
      /^easel: \[EXPORT_COURSE_NOT_FOUND\] Course 999 does not exist, or this token cannot see it/,
    );
    expect(stderr).not.toContain("--resume");
    expect(await readdir(dir)).toEqual([]);
  });
});
