import { describe, expect, it } from "vitest";
import { machineInfo } from "../src/environment.js";
import type { BenchResult } from "../src/harness.js";
import { keptResults, renderResults } from "../src/report.js";

function result(name: string, issueItem: number, figure: string): BenchResult {
  return {
    name,
    title: `Bench ${name}`,
    issueItem,
    summary: `What ${name} measures.`,
    status: "ok",
    size: "full",
    startedAt: "2026-12-06T18:00:00.000Z",
    durationMs: 1_000,
    output: {
      tables: [{ title: `${name} table`, columns: ["figure"], rows: [[figure]] }],
      goals: [{ goal: `${name} holds`, met: true, detail: `measured ${figure}` }],
      notes: [],
      data: {},
    },
  };
}

// One bench run in a clone (which has RESULTS.md but no saved results/latest.json) used to
// rewrite RESULTS.md with that bench alone, dropping every other bench's last figures.
describe("RESULTS.md after running some benches", () => {
  it("keeps the sections and goal rows of the benches not measured, in issue order", () => {
    const machine = machineInfo();
    const before = renderResults(
      machine,
      [result("alpha", 1, "a-old"), result("beta", 2, "b-old"), result("gamma", 3, "c-old")],
      "pnpm bench",
    );
    const kept = keptResults(before, [
      { name: "alpha", issueItem: 1 },
      { name: "gamma", issueItem: 3 },
    ]);
    const after = renderResults(machine, [result("beta", 2, "b-new")], "pnpm bench", kept);

    expect(after).toContain("| 1. Bench alpha | alpha holds | met | measured a-old |");
    expect(after).toContain("| 2. Bench beta | beta holds | met | measured b-new |");
    expect(after).toContain("| 3. Bench gamma | gamma holds | met | measured c-old |");
    expect(after).not.toContain("b-old");
    const sectionOf = (text: string, name: string) => {
      const from = text.indexOf(`(\`${name}\`)`);
      return text.slice(text.lastIndexOf("## ", from), text.indexOf("\n## ", from));
    };
    expect(sectionOf(after, "alpha")).toBe(sectionOf(before, "alpha"));
    const order = ["alpha", "beta", "gamma"].map((n) => after.indexOf(`(\`${n}\`)`));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order[0]).toBeGreaterThan(after.indexOf("## Goals"));
  });

  it("keeps nothing of a bench RESULTS.md does not have", () => {
    const text = renderResults(machineInfo(), [result("alpha", 1, "a")], "pnpm bench");
    expect(keptResults(text, [{ name: "delta", issueItem: 4 }])).toEqual([]);
  });
});
