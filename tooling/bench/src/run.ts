/**
 * `pnpm bench [-- NAME...] [--smoke]`: runs every benchmark (or the named ones), each in its own
 * process group with a hard time cap, prints what each measured, and writes RESULTS.md,
 * results/latest.json and the README's results block.
 *
 * Internal: `run.js --child NAME --size SIZE` is one bench's process.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { type MachineInfo, machineInfo } from "./environment.js";
import type { BenchResult, BenchSize } from "./harness.js";
import { BENCHES, findBench } from "./registry.js";
import {
  type KeptResult,
  keptResults,
  renderBench,
  renderResults,
  renderSummary,
  withKeptRows,
} from "./report.js";
import { runAsChild, runBenchIsolated } from "./runner.js";

const packageDir = fileURLToPath(new URL("..", import.meta.url));
const resultsJson = `${packageDir}results/latest.json`;
const resultsMd = `${packageDir}RESULTS.md`;
const readme = `${packageDir}README.md`;
const rootReadme = `${packageDir}../../README.md`;
const COMMAND = "pnpm bench";

interface SavedResults {
  machine: MachineInfo;
  results: BenchResult[];
}

function usage(message?: string): never {
  if (message) process.stderr.write(`${message}\n`);
  process.stderr.write(
    `usage: pnpm bench [-- NAME...] [--smoke | --render-only]\n  benches: ${BENCHES.map((b) => b.name).join(", ")}\n`,
  );
  process.exit(2);
}

interface Args {
  names: string[];
  size: BenchSize;
  child?: string;
  tmpDir?: string;
  /** Re-render RESULTS.md and the README block from results/latest.json, measuring nothing. */
  renderOnly: boolean;
}

function parseArgs(argv: string[]): Args {
  const names: string[] = [];
  let size: BenchSize = "full";
  let child: string | undefined;
  let tmpDir: string | undefined;
  let renderOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") continue;
    if (arg === "--smoke") size = "smoke";
    else if (arg === "--size") size = argv[++i] === "smoke" ? "smoke" : "full";
    else if (arg === "--child") child = argv[++i];
    else if (arg === "--tmp") tmpDir = argv[++i];
    else if (arg === "--render-only") renderOnly = true;
    else if (arg === "--help" || arg === "-h") usage();
    else if (arg.startsWith("-")) usage(`unknown option ${arg}`);
    else names.push(arg);
  }
  for (const name of names) if (!findBench(name)) usage(`unknown bench "${name}"`);
  return { names, size, child, tmpDir, renderOnly };
}

async function loadSaved(): Promise<SavedResults | undefined> {
  if (!existsSync(resultsJson)) return undefined;
  try {
    return JSON.parse(await readFile(resultsJson, "utf8")) as SavedResults;
  } catch {
    return undefined;
  }
}

/**
 * Replaces the block between the results markers with the current goals table, in the bench's
 * README and in the repository's README (which quotes the current table).
 */
async function updateReadme(
  results: readonly BenchResult[],
  machine: MachineInfo,
  kept: readonly KeptResult[] = [],
): Promise<void> {
  for (const [file, resultsLink] of [
    [readme, "./RESULTS.md"],
    [rootReadme, "tooling/bench/RESULTS.md"],
  ] as const) {
    if (!existsSync(file)) continue;
    const text = await readFile(file, "utf8");
    const start = "<!-- results:start -->";
    const end = "<!-- results:end -->";
    const from = text.indexOf(start);
    const to = text.indexOf(end);
    if (from === -1 || to === -1) continue;
    const block = [
      start,
      "",
      `Last full run: ${machine.date.slice(0, 10)}, ${machine.cpuModel} (${machine.cores} cores), Node.js ${machine.node}. Details and spreads: [RESULTS.md](${resultsLink}).`,
      "",
      withKeptRows(renderSummary([...results].sort((a, b) => a.issueItem - b.issueItem)), kept),
      "",
      end,
    ].join("\n");
    await writeFile(file, text.slice(0, from) + block + text.slice(to + end.length));
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child) {
    const bench = findBench(args.child) ?? usage(`unknown bench "${args.child}"`);
    await runAsChild(bench, args.size, bench.timeCapMs, args.tmpDir);
    process.exit(0);
  }
  if (args.renderOnly) {
    const saved = (await loadSaved()) ?? usage(`no ${resultsJson} to render`);
    await writeFile(resultsMd, renderResults(saved.machine, saved.results, COMMAND));
    await updateReadme(saved.results, saved.machine);
    process.stdout.write(`Rendered ${resultsMd} from ${resultsJson}\n`);
    return;
  }
  const selected = args.names.length > 0 ? args.names.map((n) => findBench(n)!) : [...BENCHES];
  const machine = machineInfo();
  process.stdout.write(
    `Easel benchmarks (${args.size}): ${selected.map((b) => b.name).join(", ")}\n` +
      `${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, Node.js ${machine.node}\n\n`,
  );
  const fresh: BenchResult[] = [];
  for (const bench of selected) {
    process.stdout.write(`=== ${bench.name}: ${bench.title} (cap ${Math.round(bench.timeCapMs / 1000)} s)\n`);
    const result = await runBenchIsolated(bench, args.size);
    fresh.push(result);
    process.stdout.write(`\n${renderBench(result)}\n\n`);
  }

  // A partial run keeps the other benches' last results, each with its own date.
  const saved = await loadSaved();
  const byName = new Map<string, BenchResult>();
  if (saved && args.names.length > 0 && args.size === "full") {
    for (const result of saved.results) if (result.size === "full") byName.set(result.name, result);
  }
  for (const result of fresh) byName.set(result.name, result);
  const merged = BENCHES.map((b) => byName.get(b.name)).filter((r): r is BenchResult => r !== undefined);

  if (args.size === "full") {
    // Benches neither run now nor saved (a fresh clone has no latest.json) keep what RESULTS.md says.
    const unmeasured = args.names.length > 0 ? BENCHES.filter((b) => !byName.has(b.name)) : [];
    const kept =
      unmeasured.length > 0 && existsSync(resultsMd)
        ? keptResults(await readFile(resultsMd, "utf8"), unmeasured)
        : [];
    await mkdir(`${packageDir}results`, { recursive: true });
    await writeFile(resultsJson, `${JSON.stringify({ machine, results: merged }, null, 2)}\n`);
    await writeFile(resultsMd, renderResults(machine, merged, COMMAND, kept));
    await updateReadme(merged, machine, kept);
    process.stdout.write(`Wrote ${resultsMd} and ${resultsJson}\n`);
  } else {
    process.stdout.write("Smoke size: RESULTS.md left as it was.\n");
  }
  const bad = fresh.filter((r) => r.status === "failed" || r.status === "timeout");
  process.exit(bad.length > 0 ? 1 : 0);
}

await main();
