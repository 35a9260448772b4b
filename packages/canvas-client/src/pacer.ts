import type { Clock } from "@easel/clock";
import {
  type BudgetModel,
  type BudgetOutcome,
  RATE_LIMIT_BUDGET_UNAVAILABLE,
  type RateLimitBudget,
} from "./budget.js";
import { type CanvasLogger, silentLogger } from "./logger.js";

/** Normalised pacing settings (see `PacingOptions` in options.ts for the documentation). */
export interface PacingSettings {
  enabled: boolean;
  leakPerSecond: number;
  upFrontCost: number;
  bucketSize: number;
  reserve: number;
  /** Extra caps, only when the caller set them (the bucket model needs neither). */
  serializeBelow: number | undefined;
  pauseBelow: number | undefined;
  /** Shared with the other processes on the same token (see `PacingOptions.budget`). */
  budget?: RateLimitBudget | undefined;
}

interface Waiter {
  resolve: () => void;
  reject: (reason: unknown) => void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

// Weight of the newest `X-Request-Cost` in the running average.
const COST_WEIGHT = 0.2;
// After a throttle the model was wrong (another client on the same token, a request cost more
// than expected): keep this much more room per throttle, shrinking again with healthy answers.
const SLACK_DECAY = 0.95;
// After the shared budget failed, this long on the local view before asking it again.
const BUDGET_RETRY_MS = 5_000;

/**
 * Gatekeeper for request starts, driven by a model of Canvas's leaky bucket.
 *
 * Canvas counts, per token, the cost of finished requests (`X-Request-Cost`) plus `upFrontCost`
 * for every request in flight, leaks `leakPerSecond`, and refuses a request if adding its
 * up-front cost takes the count to the high-water mark. `X-Rate-Limit-Remaining` is the room left
 * after an answer, with the up-front cost of the OTHER requests then in flight still held.
 *
 * The pacer keeps `settled`: the room the bucket would report with nothing in flight. It follows
 * it by its own accounting (each answer's cost taken out, the leak added back, up to the
 * high-water mark), pinned between what each answer's header proves: at least `remaining`, at
 * most `remaining` plus the up-front cost of our other requests in flight (the first answer, with
 * no history, is read at that upper end: a wrong guess costs one refusal, which corrects it,
 * while the lower end would idle until the leak caught up). A request starts as soon as the room, less what the requests in
 * flight hold, covers its own up-front cost plus `reserve`; otherwise the pacer waits exactly
 * until the leak makes that true. So the bucket is run near its high-water mark instead of being
 * kept far from it: while there is room, up to `maxConcurrency` run; as it fills, fewer (the
 * concurrency the bucket allows is room / upFrontCost); and when full, requests start at the rate
 * the leak sustains (`leakPerSecond / cost` a second). Timing errors (answers travel, timers fire
 * late) all make the model more careful, never less.
 *
 * A throttled answer proves the bucket was fuller than modelled: the room is cut to what that
 * refusal implies, one request at a time until answers are healthy again (the limit grows back by
 * one per answer), and each throttle adds `upFrontCost` of temporary slack.
 *
 * With a shared `budget` (several processes on one token), the budget decides each start instead
 * of the local model: it sees every process's answers and requests in flight, which this process
 * alone cannot. The local model is still fed, so when the budget is unreachable the pacer goes on
 * with it (warning once per outage) and asks the budget again `BUDGET_RETRY_MS` later.
 */
export class Pacer {
  private active = 0;
  private limit: number;
  private readonly waiters: Waiter[] = [];
  /** Room with nothing in flight, as of `settledAt`; undefined until an answer carries the header. */
  private settled: number | undefined;
  private settledAt = 0;
  private avgCost: number | undefined;
  private slack = 0;
  private pauseUntil = 0;
  /** Cancels the pending wake-up sleep. */
  private timer: AbortController | undefined;
  private timerAt = 0;
  private closed = false;
  /** Grant ids of our requests in flight that the shared budget counts, oldest first. */
  private readonly sharedIds: string[] = [];
  /** What the answer being released said (set by `observe`/`throttled`, taken by `release`). */
  private pendingOutcome: BudgetOutcome | undefined;
  private asking = false;
  /** The shared budget is not asked before this time (it failed); 0 = up. */
  private budgetDownUntil = 0;
  private budgetWarned = false;

  constructor(
    private readonly maxConcurrency: number,
    private readonly settings: PacingSettings,
    private readonly clock: Clock,
    private readonly logger: CanvasLogger = silentLogger,
  ) {
    this.limit = maxConcurrency;
  }

  /** Resolves when a request may start; the caller must `release()` exactly once afterwards. */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (
      !this.sharedUsable(this.clock.now()) &&
      this.waiters.length === 0 &&
      this.active < this.concurrencyCap() &&
      this.gateDelay() <= 0
    ) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise<void>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(signal.reason);
          this.pump();
        };
        signal.addEventListener("abort", waiter.onAbort, { once: true });
      }
      this.waiters.push(waiter);
      this.pump();
    });
  }

  release(): void {
    this.active--;
    const id = this.sharedIds.shift();
    if (id !== undefined && this.settings.budget) {
      const outcome = this.pendingOutcome ?? {
        kind: "no-answer",
        now: this.clock.now(),
        model: this.model(),
      };
      // Sent on the budget's connection before any later acquire, so the order holds.
      this.settings.budget.release(id, outcome).catch((error: unknown) => this.budgetFailed(error));
    }
    this.pendingOutcome = undefined;
    this.pump();
  }

  /** Feed the rate-limit headers of a healthy answer (call before `release()`). */
  observe(remaining: number | undefined, cost: number | undefined): void {
    const known = cost !== undefined && cost >= 0;
    if (this.sharedIds.length > 0) {
      const now = this.clock.now();
      this.pendingOutcome = { kind: "answer", now, model: this.model() };
      if (remaining !== undefined) this.pendingOutcome.remaining = remaining;
      if (known) this.pendingOutcome.cost = cost;
    }
    if (known) {
      this.avgCost =
        this.avgCost === undefined ? cost : this.avgCost * (1 - COST_WEIGHT) + cost * COST_WEIGHT;
    }
    if (remaining === undefined || !this.settings.enabled) return;
    const now = this.clock.now();
    // Our other requests in flight may or may not have been inside Canvas when it answered.
    const others = Math.max(0, this.active - 1);
    const lowest = remaining;
    // ...but the bucket never holds more room than its high-water mark.
    const highest = Math.max(
      lowest,
      Math.min(remaining + others * this.settings.upFrontCost, this.settings.bucketSize),
    );
    const before = this.settledNow(now);
    const accounted = before === undefined ? highest : before - (known ? cost : (this.avgCost ?? 0));
    this.settled = Math.min(highest, Math.max(lowest, accounted));
    this.settledAt = now;
    this.slack *= SLACK_DECAY;
    if (this.limit < this.maxConcurrency) this.limit++;
    this.pump();
  }

  /**
   * A throttled answer (429 / 403 "Rate Limit Exceeded"; call before `release()`). With pacing
   * on, the model takes the refusal into account (see the class comment) and starts wait
   * `extraDelayMs` more (growing with consecutive throttles, from the retry policy).
   */
  throttled(extraDelayMs: number): void {
    if (!this.settings.enabled) return;
    const now = this.clock.now();
    if (this.sharedIds.length > 0) this.pendingOutcome = { kind: "throttled", now, model: this.model() };
    // Refused means: settled room <= up-front cost of what was in flight, the refused one included.
    const proven = Math.max(1, this.active) * this.settings.upFrontCost;
    this.settled = Math.min(this.settledNow(now) ?? proven, proven);
    this.settledAt = now;
    this.slack = Math.min(this.slack + this.settings.upFrontCost, this.settings.bucketSize / 4);
    this.limit = 1;
    this.pauseUntil = Math.max(this.pauseUntil, now + extraDelayMs);
    this.pump();
  }

  /** Figures for `client.stats()`. */
  snapshot(): { concurrencyLimit: number; inFlight: number; rateLimitRemaining: number | undefined } {
    const settled = this.settledNow(this.clock.now());
    let fits = this.maxConcurrency;
    if (settled !== undefined) {
      const room = settled - this.settings.reserve - this.slack;
      fits = Math.max(1, Math.min(fits, Math.floor(room / this.holdPerRequest())));
    }
    return {
      concurrencyLimit: Math.min(this.concurrencyCap(), fits),
      inFlight: this.active,
      rateLimitRemaining:
        settled === undefined ? undefined : settled - this.active * this.settings.upFrontCost,
    };
  }

  /** Rejects every waiter (client closed). */
  close(reason: unknown): void {
    this.closed = true;
    this.timer?.abort();
    this.timer = undefined;
    for (const w of this.waiters.splice(0)) {
      if (w.signal && w.onAbort) w.signal.removeEventListener("abort", w.onAbort);
      w.reject(reason);
    }
  }

  /** Units a request in flight will have taken from the room by the time it has ended. */
  private holdPerRequest(): number {
    return Math.max(this.settings.upFrontCost, this.avgCost ?? 0, 1e-9);
  }

  private settledNow(now: number): number | undefined {
    if (this.settled === undefined) return undefined;
    const leaked = ((now - this.settledAt) / 1000) * this.settings.leakPerSecond;
    // A Canvas configured with a larger bucket than `bucketSize` reports more: trust it.
    return Math.min(Math.max(this.settings.bucketSize, this.settled), this.settled + leaked);
  }

  private concurrencyCap(): number {
    const { serializeBelow } = this.settings;
    const settled = this.settledNow(this.clock.now());
    if (serializeBelow !== undefined && settled !== undefined && this.settings.enabled) {
      if (settled - this.active * this.settings.upFrontCost < serializeBelow) return 1;
    }
    return this.limit;
  }

  /** Milliseconds before the next start is allowed (0 = now, Infinity = after a `release()`). */
  private gateDelay(): number {
    const now = this.clock.now();
    let delay = this.pauseUntil - now;
    const settled = this.settledNow(now);
    if (this.settings.enabled && settled !== undefined) {
      const { upFrontCost, reserve, pauseBelow, leakPerSecond } = this.settings;
      const held = this.active * this.holdPerRequest();
      let needed = held + upFrontCost + reserve + this.slack;
      if (pauseBelow !== undefined) needed = Math.max(needed, held + pauseBelow);
      const full = Math.max(this.settings.bucketSize, settled);
      if (needed > full) {
        // Cannot fit while the others hold their share: wait for a release; alone, for a full bucket.
        if (this.active > 0) return Number.POSITIVE_INFINITY;
        needed = full;
      }
      if (settled < needed) delay = Math.max(delay, ((needed - settled) / leakPerSecond) * 1000);
    }
    return Math.max(0, Math.ceil(delay));
  }

  private pump(): void {
    while (this.waiters.length > 0 && this.active < this.concurrencyCap()) {
      const now = this.clock.now();
      if (this.sharedUsable(now)) {
        if (this.pauseUntil > now) this.schedule(this.pauseUntil - now);
        else this.askBudget();
        return;
      }
      const delay = this.gateDelay();
      if (delay > 0) {
        if (Number.isFinite(delay)) this.schedule(delay);
        return;
      }
      const waiter = this.waiters.shift()!;
      if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener("abort", waiter.onAbort);
      this.active++;
      waiter.resolve();
    }
  }

  /** The bucket as our settings describe it, with our throttle slack kept free too. */
  private model(): BudgetModel {
    const { bucketSize, leakPerSecond, upFrontCost, reserve } = this.settings;
    return { bucketSize, leakPerSecond, upFrontCost, reserve: reserve + this.slack };
  }

  private sharedUsable(now: number): boolean {
    return this.settings.budget !== undefined && this.settings.enabled && now >= this.budgetDownUntil;
  }

  /** Asks the shared budget for the first waiter's start; one question at a time. */
  private askBudget(): void {
    const budget = this.settings.budget;
    if (this.asking || !budget || this.closed) return;
    this.asking = true;
    budget.acquire({ now: this.clock.now(), model: this.model() }).then(
      (grant) => {
        this.asking = false;
        if (this.budgetDownUntil !== 0) {
          this.budgetDownUntil = 0;
          this.budgetWarned = false;
          this.logger.info(
            { code: "RATE_LIMIT_BUDGET_RESTORED" },
            "Shared rate-limit budget reachable again; pacing on it",
          );
        }
        if (!grant.granted) {
          if (!this.closed) this.schedule(Math.max(1, Math.ceil(grant.retryInMs)));
          return;
        }
        const waiter = this.waiters.shift();
        if (!waiter || this.closed) {
          // The waiter gave up (aborted) while we asked: hand the room back.
          budget
            .release(grant.id, { kind: "no-answer", now: this.clock.now(), model: this.model() })
            .catch((error: unknown) => this.budgetFailed(error));
          this.pump();
          return;
        }
        if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener("abort", waiter.onAbort);
        this.active++;
        this.sharedIds.push(grant.id);
        waiter.resolve();
        this.pump();
      },
      (error: unknown) => {
        this.asking = false;
        this.budgetFailed(error);
        this.pump();
      },
    );
  }

  /** The budget is unreachable: local view for a while, and one warning per outage. */
  private budgetFailed(error: unknown): void {
    this.budgetDownUntil = this.clock.now() + BUDGET_RETRY_MS;
    if (this.budgetWarned) return;
    this.budgetWarned = true;
    const code = (error as { code?: unknown } | null)?.code;
    this.logger.warn(
      {
        code: RATE_LIMIT_BUDGET_UNAVAILABLE,
        cause: typeof code === "string" ? code : (error as Error | null)?.name,
        retryInMs: BUDGET_RETRY_MS,
      },
      `Shared rate-limit budget unreachable (${error instanceof Error ? error.message : String(error)}); pacing on this process's own view, which does not see the other processes on the token`,
    );
  }

  private schedule(delay: number): void {
    const at = this.clock.now() + delay;
    if (this.timer && this.timerAt <= at) return;
    this.timer?.abort();
    const timer = new AbortController();
    this.timer = timer;
    this.timerAt = at;
    this.clock.sleep(delay, timer.signal).then(
      () => {
        if (this.timer !== timer) return;
        this.timer = undefined;
        this.pump();
      },
      // Aborted: replaced by an earlier wake-up, or the client closed.
      () => {},
    );
  }
}
