/**
 * A rate-limit budget shared by every process that uses one Canvas token.
 *
 * Canvas keeps one leaky bucket per access token, so clients in different processes (several
 * `easel worker`s) drain the same bucket while each sees only its own requests. Given a budget,
 * the pacer asks it before every request start and reports every end to it, so all of them pace
 * on one view: the room the last answer reported (from any process), the leak since, and the
 * up-front cost of the requests in flight in every process. `@easel/rate-limit-redis` keeps that
 * view in Redis; this package only defines the contract (and so needs no Redis).
 */
export interface RateLimitBudget {
  /**
   * Reserves room for one request starting at `now` (the pacer's clock), or says how long to wait
   * before asking again. Rejects when the shared view is unreachable: the pacer then paces on its
   * own view and warns once.
   */
  acquire(request: BudgetRequest): Promise<BudgetGrant>;
  /** The request `id` (from a grant) ended; `outcome` carries what its answer said. */
  release(id: string, outcome: BudgetOutcome): Promise<void>;
}

/** The bucket as this process's pacing options describe it (Canvas's settings). */
export interface BudgetModel {
  /** Canvas's `hwm`: the room a fresh bucket reports. */
  bucketSize: number;
  /** Canvas's `outflow`, units a second. */
  leakPerSecond: number;
  /** Canvas's `up_front_cost`, held by each request in flight. */
  upFrontCost: number;
  /** Units kept free beyond what the requests in flight and the next one hold. */
  reserve: number;
}

export interface BudgetRequest {
  /** Milliseconds since the epoch, from the injected clock. */
  now: number;
  model: BudgetModel;
}

export type BudgetGrant = { granted: true; id: string } | { granted: false; retryInMs: number };

export type BudgetOutcome =
  /** A healthy answer: its `X-Rate-Limit-Remaining` and `X-Request-Cost`, when present. */
  | { kind: "answer"; now: number; model: BudgetModel; remaining?: number; cost?: number }
  /** A throttled answer (429 / 403 "Rate Limit Exceeded"): the bucket was fuller than modelled. */
  | { kind: "throttled"; now: number; model: BudgetModel }
  /** No answer (network error, timeout, abort): only the up-front hold ends. */
  | { kind: "no-answer"; now: number; model: BudgetModel };

/** Code of the warning the pacer logs when it stops using an unreachable budget. */
export const RATE_LIMIT_BUDGET_UNAVAILABLE = "RATE_LIMIT_BUDGET_UNAVAILABLE";
