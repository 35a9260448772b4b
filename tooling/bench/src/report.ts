import type { MachineInfo } from "./environment.js";
import type { BenchResult, Cell, Table } from "./harness.js";

function escapeCell(cell: Cell): string {
  return String(cell).replaceAll("|", "\\|").replaceAll("\n", " ");
}

export function markdownTable(table: Pick<Table, "columns" | "rows">): string {
  const lines = [
    `| ${table.columns.map(escapeCell).join(" | ")} |`,
    `| ${table.columns.map(() => "---").join(" | ")} |`,
    ...table.rows.map((row) => `| ${row.map(escapeCell).join(" | ")} |`),
  ];
  return lines.join("\n");
}

function statusLine(result: BenchResult): string {
  const seconds = Math.round(result.durationMs / 100) / 10;
  const when = `measured ${result.startedAt.replace("T", " ").slice(0, 16)} UTC, ${seconds} s`;
  switch (result.status) {
    case "ok":
      return `_${when}${result.size === "smoke" ? ", smoke size (not representative)" : ""}._`;
    case "skipped":
      return `**Skipped: ${result.reason}.**`;
    case "timeout":
      return `**Did not finish: ${result.reason}** (${when}).`;
    default:
      return `**Failed** (${when}):\n\n\`\`\`\n${(result.reason ?? "").split("\n").slice(0, 8).join("\n")}\n\`\`\``;
  }
}

/** One bench's section: what it measured, its tables, and every goal met or missed in words. */
export function renderBench(result: BenchResult): string {
  const parts = [
    `## ${result.issueItem}. ${result.title} (\`${result.name}\`)`,
    "",
    result.summary,
    "",
    statusLine(result),
  ];
  const output = result.output;
  if (output) {
    for (const table of output.tables) {
      parts.push("", `**${table.title}**`, "", markdownTable(table));
      for (const note of table.notes ?? []) parts.push("", note);
    }
    if (output.goals.length > 0) {
      parts.push("", "Goals:", "");
      for (const goal of output.goals) {
        parts.push(`- ${goal.met ? "**Met**" : "**MISSED**"}: ${goal.goal}. ${goal.detail}`);
      }
    }
    if (output.notes.length > 0) {
      parts.push("", "Notes:", "");
      for (const note of output.notes) parts.push(`- ${note}`);
    }
  }
  return parts.join("\n");
}

/** The goals of every bench in one table (what the README quotes). */
export function renderSummary(results: readonly BenchResult[]): string {
  const rows: Cell[][] = [];
  for (const result of results) {
    if (result.status !== "ok" || !result.output) {
      rows.push([
        `${result.issueItem}. ${result.title}`,
        "—",
        result.status,
        result.reason?.split("\n")[0] ?? "",
      ]);
      continue;
    }
    for (const goal of result.output.goals) {
      rows.push([
        `${result.issueItem}. ${result.title}`,
        goal.goal,
        goal.met ? "met" : "**missed**",
        goal.detail,
      ]);
    }
    for (const headline of result.output.headlines ?? []) {
      rows.push([`${result.issueItem}. ${result.title}`, "—", "measured", headline]);
    }
    if (result.output.goals.length === 0 && !result.output.headlines?.length) {
      rows.push([`${result.issueItem}. ${result.title}`, "—", "measured", ""]);
    }
  }
  return markdownTable({ columns: ["benchmark", "goal", "status", "measured"], rows });
}

/**
 * What RESULTS.md already says of a bench that this run did not measure and no saved results
 * hold (a clone has RESULTS.md but not results/latest.json): its goal rows and its section, kept
 * word for word so that running one bench never drops the others' last figures.
 */
export interface KeptResult {
  issueItem: number;
  goalRows: string[];
  section: string;
}

/** The parts of `resultsMd` (a RESULTS.md) that belong to `benches`, for `renderResults`. */
export function keptResults(
  resultsMd: string,
  benches: ReadonlyArray<{ name: string; issueItem: number }>,
): KeptResult[] {
  const sections = resultsMd.split(/^(?=## )/m);
  const goals = sections.find((s) => s.startsWith("## Goals")) ?? "";
  const kept: KeptResult[] = [];
  for (const bench of benches) {
    const section = sections.find((s) => s.split("\n", 1)[0]!.endsWith(`(\`${bench.name}\`)`));
    if (!section) continue;
    const goalRows = goals.split("\n").filter((line) => line.startsWith(`| ${bench.issueItem}. `));
    kept.push({ issueItem: bench.issueItem, goalRows, section: section.trimEnd() });
  }
  return kept;
}

/** A goals table with kept rows put in their place (rows are ordered by issue item). */
export function withKeptRows(table: string, kept: readonly KeptResult[]): string {
  if (kept.length === 0) return table;
  const [header, rule, ...rows] = table.split("\n");
  const item = (row: string) => Number(/^\| (\d+)\. /.exec(row)?.[1] ?? 0);
  const all = [...rows, ...kept.flatMap((k) => k.goalRows)];
  // Array.prototype.sort is stable: each bench's rows keep their order.
  all.sort((a, b) => item(a) - item(b));
  return [header, rule, ...all].join("\n");
}

export function renderResults(
  machine: MachineInfo,
  results: readonly BenchResult[],
  command: string,
  kept: readonly KeptResult[] = [],
): string {
  const sorted = [...results].sort((a, b) => a.issueItem - b.issueItem);
  const sections = [
    ...sorted.map((result) => ({ issueItem: result.issueItem, text: renderBench(result) })),
    ...kept.map((k) => ({ issueItem: k.issueItem, text: k.section })),
  ].sort((a, b) => a.issueItem - b.issueItem);
  return [
    "# Easel benchmarks: results",
    "",
    `Written by \`${command}\` (tooling/bench). Do not edit by hand: run it again.`,
    "",
    `- Machine: ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB memory, ${machine.platform}`,
    `- Node.js ${machine.node}; run ${machine.date.replace("T", " ").slice(0, 16)} UTC`,
    "- Figures are median (min–max) over repeated runs, or p50 / p99 over requests, unless a row says otherwise.",
    "- The machine is shared and noisy: compare the ratios, which are measured side by side in the same run, more than the absolute figures.",
    "- All traffic stays on 127.0.0.1 (Canvas simulator, fake Vault, local Redis).",
    "",
    "## Goals",
    "",
    withKeptRows(renderSummary(sorted), kept),
    "",
    ...sections.flatMap((section) => [section.text, ""]),
  ].join("\n");
}
