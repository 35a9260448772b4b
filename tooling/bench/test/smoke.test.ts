import { describe, expect, it } from "vitest";
import { fernetStoresBench, typicalRecord } from "../src/benches/fernet-stores.js";
import { machineInfo } from "../src/environment.js";
import { BENCHES } from "../src/registry.js";
import { renderResults } from "../src/report.js";
import { runBenchInProcess } from "../src/runner.js";
import { fmtSpread, percentiles, spread } from "../src/stats.js";

// The cheapest benchmark at its smoke size, end to end, so CI notices when the harness or a
// package API it relies on breaks. Figures are not checked (CI machines vary), only their shape.
describe("bench harness", () => {
  it("registers every benchmark once, each with a name, a cap and requirements", () => {
    expect(BENCHES.map((b) => b.issueItem).sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(BENCHES.map((b) => b.name)).size).toBe(BENCHES.length);
    for (const bench of BENCHES) {
      expect(bench.name).toMatch(/^[a-z][a-z0-9-]*$/);
      expect(bench.timeCapMs).toBeGreaterThan(0);
      expect(bench.timeCapMs).toBeLessThanOrEqual(10 * 60_000);
    }
  });

  it("skips a bench whose package is not built, saying which", async () => {
    const result = await runBenchInProcess(
      { ...fernetStoresBench, requires: ["@easel/fernet", "@easel/not-a-package"] },
      { size: "smoke" },
    );
    expect(result.status).toBe("skipped");
    expect(result.reason).toBe("@easel/not-a-package not installed");
    expect(renderResults(machineInfo(), [result], "pnpm bench")).toContain(
      "**Skipped: @easel/not-a-package not installed.**",
    );
  });

  it("measures a 600-byte record", () => {
    const { record, json } = typicalRecord();
    expect(Buffer.byteLength(json)).toBe(600);
    expect(JSON.parse(json)).toEqual(record);
  });

  it("summarises samples as median (min–max) and nearest-rank percentiles", () => {
    expect(spread([3, 1, 2])).toEqual({ n: 3, median: 2, min: 1, max: 3 });
    expect(percentiles(Array.from({ length: 100 }, (_, i) => i + 1))).toMatchObject({
      p50: 50,
      p99: 99,
      max: 100,
    });
    expect(fmtSpread([1000, 1200, 1100], "ops/s")).toBe("1,100 ops/s (1,000–1,200)");
  });

  it("runs the fernet-stores bench at smoke size and returns tables, figures and raw data", async () => {
    const result = await runBenchInProcess(fernetStoresBench, { size: "smoke" });
    expect(result.reason).toBeUndefined();
    expect(result.status).toBe("ok");
    const output = result.output!;
    const [fernet, stores] = output.tables;
    expect(fernet!.columns[0]).toBe("operation");
    expect(fernet!.rows.map((row) => row[0])).toEqual(["encrypt", "decrypt"]);
    for (const row of fernet!.rows) expect(String(row[1])).toMatch(/^[\d,.]+ ops\/s/);
    expect(stores!.rows.map((row) => String(row[0]).split(" ")[0])).toEqual([
      "memory",
      "file",
      "redis",
      "vault",
    ]);
    // memory, file and the fake Vault always run; Redis may be absent outside CI.
    for (const row of stores!.rows.filter((r) => !String(r[1]).startsWith("skipped"))) {
      for (const cell of row.slice(1)) expect(String(cell)).toMatch(/^[\d,.]+ \/s/);
    }
    const data = output.data as { fernet: { js: { encrypt: number[] } }; stores: Record<string, unknown> };
    expect(data.fernet.js.encrypt.every((v) => v > 0)).toBe(true);
    expect(Object.keys(data.stores)).toContain("memory");

    const markdown = renderResults(machineInfo(), [result], "pnpm bench");
    expect(markdown).toContain("## 6. Fernet and token stores (`fernet-stores`)");
    expect(markdown).toContain("| operation | Easel (node:crypto) |");
    expect(markdown).toContain(machineInfo().node);
  });
});
