import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { describeColumns, EXPORT_KINDS } from "../src/index.js";

describe("README", () => {
  it("documents every kind's columns, in order (the column contract)", async () => {
    const readme = await readFile(new URL("../README.md", import.meta.url), "utf8");
    for (const kind of EXPORT_KINDS) {
      const start = readme.indexOf(`\n### ${kind}\n`);
      expect(start, `README section for ${kind}`).toBeGreaterThan(0);
      const rest = readme.slice(start + 1);
      const end = rest.slice(1).search(/\n#{2,3} /);
      const section = end === -1 ? rest : rest.slice(0, end + 1);
      const documented = [...section.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
      expect(documented).toEqual(describeColumns(kind).map((c) => c.name));
    }
  });
});
