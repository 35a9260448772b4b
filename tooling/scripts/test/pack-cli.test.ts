import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { envWithoutPnpm, run, start, tempDir } from "./helpers.js";

// The operator's path: `npm run pack:cli` in a checkout, `npm install -g` of the tarball it printed
// into an empty prefix (dependencies from the npm registry), then `easel` from that prefix only.
const MINUTES = 60_000;

let prefix: string;
let easel: string;
let home: string;

beforeAll(async () => {
  const out = tempDir();
  const packed = await run("npm", ["run", "--silent", "pack:cli", "--", out], { env: envWithoutPnpm() });
  expect({ status: packed.status, stderr: packed.stderr }).toMatchObject({ status: 0 });
  const tarball = packed.stdout.trim();
  expect(tarball).toMatch(new RegExp(`^${out}/easel-cli-\\d+\\.\\d+\\.\\d+\\.tgz$`));

  prefix = tempDir();
  home = tempDir();
  const installed = await run(
    "npm",
    ["install", "-g", "--prefix", prefix, "--no-fund", "--no-audit", tarball],
    {
      cwd: prefix,
      env: envWithoutPnpm({ HOME: process.env.HOME ?? home }),
    },
  );
  expect({ status: installed.status, stderr: installed.stderr }).toMatchObject({ status: 0 });
  easel = join(prefix, "bin", "easel");
}, 15 * MINUTES);

/** `easel` as installed, with nothing of this checkout: a clean PATH and a private HOME. */
function easelEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: envWithoutPnpm().PATH, HOME: home, ...extra };
}

describe("the packed CLI installed with npm install -g", () => {
  it("bundles the internal packages: none of them is an npm dependency", () => {
    const installedDir = join(prefix, "lib", "node_modules", "@easel", "cli");
    const manifest = JSON.parse(readFileSync(join(installedDir, "package.json"), "utf8")) as {
      dependencies: Record<string, string>;
      bin: Record<string, string>;
    };
    expect(Object.keys(manifest.dependencies).filter((name) => name.startsWith("@easel/"))).toEqual([]);
    expect(manifest.dependencies).toMatchObject({ commander: expect.stringMatching(/^\d+\.\d+\.\d+$/) });
    expect(manifest.bin).toEqual({ easel: "dist/bin.js" });
    expect(existsSync(join(installedDir, "node_modules", "@easel"))).toBe(false);
  });

  it("easel --help lists the commands", async () => {
    const help = await run(easel, ["--help"], { env: easelEnv() });
    expect(help.status).toBe(0);
    for (const command of ["login", "token", "export", "sync", "serve", "sim", "demo"]) {
      expect(help.stdout).toMatch(new RegExp(`^\\s+${command}\\b`, "m"));
    }
  });

  it(
    "easel sim serves a Canvas, and easel export reads grades from it with the developer token",
    async () => {
      const sim = start(easel, ["sim", "--port", "0", "--json", "--courses", "2", "--students", "7"], {
        env: easelEnv(),
      });
      try {
        const line = await sim.line(/^\{.*"url"/);
        const { url, developerToken } = JSON.parse(line) as { url: string; developerToken: string };
        expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

        const out = join(tempDir(), "grades.csv");
        const exported = await run(
          easel,
          ["export", "grades", "--course", "1,2", "--format", "csv", "--out", out],
          {
            env: easelEnv({ CANVAS_BASE_URL: url, CANVAS_ACCESS_TOKEN: developerToken }),
          },
        );
        expect({ status: exported.status, stderr: exported.stderr }).toMatchObject({ status: 0 });
        const rows = readFileSync(out, "utf8").trim().split("\n");
        expect(rows[0]).toMatch(/^course_id,user_id,/);
        expect(
          rows
            .slice(1)
            .map((row) => row.split(",")[0])
            .sort(),
        ).toEqual([...Array<string>(7).fill("1"), ...Array<string>(7).fill("2")]);
        expect(exported.stderr).not.toContain(developerToken);
      } finally {
        sim.child.kill("SIGTERM");
      }
      expect((await sim.done).status).toBe(0);
    },
    5 * MINUTES,
  );
});
