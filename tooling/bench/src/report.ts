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

export function renderResults(
  machine: MachineInfo,
  results: readonly BenchResult[],
  command: string,
): string {
  const sorted = [...results].sort((a, b) => a.issueItem - b.issueItem);
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
    renderSummary(sorted),
    "",
    ...sorted.flatMap((result) => [renderBench(result), ""]),
  ].join("\n");
}
