import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { envWithoutPnpm, OUTPUT, ROOT, run, tempDir } from "./helpers.js";

const SUMMARY = join(ROOT, "tooling/scripts/test-summary.mjs");
const VITEST = join(ROOT, "node_modules/vitest/vitest.mjs");

/** A package in a throwaway workspace root, on the same vitest preset as every Easel package. */
function packageWith(root: string, name: string, tests: Record<string, string>): string {
  const dir = join(root, "packages", name);
  mkdirSync(join(dir, "test"), { recursive: true });
  writeFileSync(join(dir, "package.json"), `{ "name": "${name}", "private": true, "type": "module" }\n`);
  writeFileSync(
    join(dir, "vitest.config.ts"),
    'import { easelVitestConfig } from "@easel/tooling/vitest";\n\nexport default easelVitestConfig();\n',
  );
  for (const [file, text] of Object.entries(tests)) writeFileSync(join(dir, "test", file), text);
  return dir;
}

const PASSING = 'import { expect, it } from "vitest";\n\nit("adds", () => expect(1 + 1).toBe(2));\n';
const BROKEN_IMPORT =
  'import { expect, it } from "vitest";\nimport { answer } from "./no-such-module.js";\n\nit("never runs", () => expect(answer).toBe(42));\n';

describe("test-summary", () => {
  it("counts a test file that cannot load as a failure, names it with its error, and exits 1", async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const root = tempDir(OUTPUT);
    const pkg = packageWith(root, "broken", { "ok.test.ts": PASSING, "broken.test.ts": BROKEN_IMPORT });

    const vitest = await run(process.execPath, [VITEST, "run"], { cwd: pkg, env: envWithoutPnpm() });
    expect(vitest.status).not.toBe(0);

    const summary = await run(process.execPath, [SUMMARY, root]);
    expect(summary.stdout).toMatch(
      /failed outside any test.*\n\s+packages\/broken\/test\/broken\.test\.ts: .*no-such-module\.js/,
    );
    expect(summary.stdout.trim().split("\n").at(-1)).toBe("1 passed, 1 failed, 0 skipped");
    expect(summary.status).toBe(1);
  });

  it("exits 0 and prints only the counts when every file loaded and passed", async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const root = tempDir(OUTPUT);
    const pkg = packageWith(root, "fine", { "ok.test.ts": PASSING });
    expect((await run(process.execPath, [VITEST, "run"], { cwd: pkg, env: envWithoutPnpm() })).status).toBe(
      0,
    );

    const summary = await run(process.execPath, [SUMMARY, root]);
    expect(summary.stdout).toBe("1 passed, 0 failed, 0 skipped\n");
    expect(summary.status).toBe(0);
  });

  it("fails when a package with tests wrote no report", async () => {
    mkdirSync(OUTPUT, { recursive: true });
    const root = tempDir(OUTPUT);
    packageWith(root, "silent", { "ok.test.ts": PASSING });
    const summary = await run(process.execPath, [SUMMARY, root]);
    expect(summary.stdout).toContain("no test report from: packages/silent");
    expect(summary.status).toBe(1);
  });
});
