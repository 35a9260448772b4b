import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, run, tempDir } from "./helpers.js";

const CHECK = join(ROOT, "tooling/scripts/check-outside-root.mjs");
/** `UP(n)` climbs n directories; written out, the references below would be caught in this file too. */
const UP = (levels: number) => "../".repeat(levels);

/** A git repository in `<temp>/repo`, beside a `<temp>/shared` that a clone would not have. */
async function repoWith(files: Record<string, string>): Promise<string> {
  const parent = tempDir();
  const repo = join(parent, "repo");
  mkdirSync(join(parent, "shared"), { recursive: true });
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(repo, path)), { recursive: true });
    writeFileSync(join(repo, path), text.replaceAll("PARENT", parent));
  }
  expect((await run("git", ["init", "-q"], { cwd: repo })).status).toBe(0);
  return repo;
}

const INSIDE: Record<string, string> = {
  "README.md": 'See [the docs](docs/architecture.md), [a package](packages/a/README.md); "..." is prose.\n',
  "packages/a/tsconfig.json": '{ "extends": "../../tsconfig.base.json" }\n',
  "packages/a/test/helpers.ts": 'export const FIXTURES = new URL("./fixtures/", import.meta.url);\n',
  "tooling/scripts/run.sh": 'cd "$(dirname "$0")/../.."\ncurl https://example.com/a/../b\n',
  "docs/ops.md":
    "Put the key in /etc/easel/sync.env and run /usr/bin/easel; Canvas answers /api/v1/courses.\n",
};

describe("check-outside-root", () => {
  it("passes a repository whose references all stay inside it", async () => {
    const result = await run(process.execPath, [CHECK, await repoWith(INSIDE)]);
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  it("names every file and line that reaches above the root, and fails", async () => {
    const repo = await repoWith({
      ...INSIDE,
      "README.md": "# x\nSee [the design](../beside-the-clone/DESIGN.md).\n",
      "packages/a/test/helpers.ts": `export const V = new URL("${UP(4)}shared/vectors/", import.meta.url);\n`,
      "tooling/scripts/run.sh": `cat "$(dirname "$0")/${UP(3)}shared/x"\n`,
      "packages/a/src/notes.ts": "// see PARENT/shared/vault-api.md\n",
      "package.json": '{ "scripts": { "x": "node ../beside-the-clone/x.mjs" } }\n',
    });
    const result = await run(process.execPath, [CHECK, repo]);
    expect(result.status).toBe(1);
    expect(result.stderr).toContain("README.md:2: ../beside-the-clone/DESIGN.md");
    expect(result.stderr).toContain(`packages/a/test/helpers.ts:1: ${UP(4)}shared/vectors/`);
    expect(result.stderr).toContain(`tooling/scripts/run.sh:1: ${UP(3)}shared/x`);
    expect(result.stderr).toMatch(/packages\/a\/src\/notes\.ts:1: \/\S+\/shared\/vault-api\.md/);
    expect(result.stderr).toContain("package.json:1: ../beside-the-clone/x.mjs");
    expect(result.stderr).not.toContain("tsconfig.json");
    expect(result.stderr).not.toContain("docs/ops.md");
  });

  it("passes this repository", async () => {
    const result = await run(process.execPath, [CHECK]);
    expect(result.stderr).toBe("");
    expect(result.stdout).toContain("outside-root references: none");
    expect(result.status).toBe(0);
  });
});
