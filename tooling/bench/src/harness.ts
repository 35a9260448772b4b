/**
 * The contract between the runner and a benchmark: a bench is a plain object registered in
 * `registry.ts`; it measures, then returns tables (for RESULTS.md), goal checks (met or missed,
 * in words) and raw data (for results/latest.json).
 */

/** How big a run is: `full` is what RESULTS.md quotes; `smoke` is a seconds-long run for CI. */
export type BenchSize = "full" | "smoke";

export interface BenchContext {
  size: BenchSize;
  /** Epoch ms after which the runner kills the bench: trim optional work well before it. */
  deadline: number;
  /** A progress line on stderr, prefixed with the bench name. */
  log(message: string): void;
  /** A private temporary directory, removed after the bench. */
  tmpDir: string;
  /** Milliseconds left before `deadline`. */
  remainingMs(): number;
}

/** A cell is text or a number (numbers are rendered as they are). */
export type Cell = string | number;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  /** Sentences printed under the table: how it was measured. */
  notes?: string[];
}

export interface GoalCheck {
  goal: string;
  met: boolean;
  /** What was measured against the goal, in words. */
  detail: string;
}

export interface BenchOutput {
  tables: Table[];
  goals: GoalCheck[];
  /** Caveats and trims (e.g. "1M ran once, not repeated"). */
  notes: string[];
  /** One-line figures for the summary table, for benches (or findings) without a goal. */
  headlines?: string[];
  /** Raw figures for results/latest.json. */
  data: Record<string, unknown>;
}

export interface Bench {
  /** Kebab-case; `pnpm bench -- <name>` runs this one. */
  name: string;
  /** The issue's item number, for ordering in RESULTS.md. */
  issueItem: number;
  title: string;
  /** What it shows, one sentence for RESULTS.md. */
  summary: string;
  /** Workspace packages whose built `dist` the bench imports; missing ones skip it. */
  requires: string[];
  /** Hard wall-clock cap; the runner kills the bench's process group after it. */
  timeCapMs: number;
  run(ctx: BenchContext): Promise<BenchOutput>;
}

export type BenchStatus = "ok" | "skipped" | "failed" | "timeout";

export interface BenchResult {
  name: string;
  title: string;
  issueItem: number;
  summary: string;
  status: BenchStatus;
  /** Why it was skipped, failed or timed out. */
  reason?: string;
  size: BenchSize;
  startedAt: string;
  durationMs: number;
  output?: BenchOutput;
}

/** Builds a BenchOutput piece by piece. */
export class OutputBuilder {
  readonly tables: Table[] = [];
  readonly goals: GoalCheck[] = [];
  readonly notes: string[] = [];
  readonly headlines: string[] = [];
  readonly data: Record<string, unknown> = {};

  table(table: Table): void {
    this.tables.push(table);
  }

  goal(goal: string, met: boolean, detail: string): void {
    this.goals.push({ goal, met, detail });
  }

  note(note: string): void {
    this.notes.push(note);
  }

  headline(text: string): void {
    this.headlines.push(text);
  }

  build(): BenchOutput {
    return {
      tables: this.tables,
      goals: this.goals,
      notes: this.notes,
      headlines: this.headlines,
      data: this.data,
    };
  }
}
