/** Request statistics, as `GET /__sim/stats` returns them. */
export interface SimStats {
  requests: {
    total: number;
    /** Keyed by method + Canvas path template: "GET /api/v1/courses/:course_id/enrollments". */
    byRoute: Record<string, number>;
    /** Keyed by status code string; "dropped" counts connections destroyed without a response. */
    byStatus: Record<string, number>;
    /** Keyed by `tokenFingerprint(token)` of the token presented (valid or not). */
    byToken: Record<string, number>;
  };
  /**
   * Throttle cost units charged (what `X-Request-Cost` said: the cost model's per-request and per-row
   * cost plus extras), counted whether or not throttling is on. Throttled and dropped requests charge 0.
   */
  cost: {
    total: number;
    /** Keyed like `requests.byToken`. */
    byToken: Record<string, number>;
    byRoute: Record<string, number>;
  };
  /**
   * Rows Canvas served: list items and single objects; a grouped submissions page counts each student
   * entry and each submission in it (the work the throttle's `costPerRow` charges).
   */
  rows: { total: number; byRoute: Record<string, number> };
  tokenGrants: { authorization_code: number; refresh_token: number; refused: number };
  /** Most requests in flight at once. */
  peakConcurrency: number;
  /**
   * Round trips: the longest chain of requests each of which arrived after the one before it was
   * answered. A client that sends everything independent at once and waits between dependent
   * steps only scores its number of dependent steps, whatever the server's latency (a `slow`
   * fault makes the overlap certain).
   */
  rounds: number;
  inFlight: number;
  /** Requests refused by the leaky bucket (not counting injected throttle faults). */
  throttled: number;
  faults: { injected: number; byKind: Record<string, number> };
  progress: { created: number };
  clock: { now: string; nowMs: number };
  /** `process.memoryUsage()` of the simulator's process. */
  memory: NodeJS.MemoryUsage;
  /** `process.cpuUsage()` of the simulator's process (microseconds). */
  cpu: NodeJS.CpuUsage;
  uptimeSeconds: number;
}

export class StatsCollector {
  total = 0;
  byRoute = new Map<string, number>();
  byStatus = new Map<string, number>();
  byToken = new Map<string, number>();
  cost = 0;
  costByToken = new Map<string, number>();
  costByRoute = new Map<string, number>();
  rows = 0;
  rowsByRoute = new Map<string, number>();
  grants = { authorization_code: 0, refresh_token: 0, refused: 0 };
  inFlight = 0;
  peakConcurrency = 0;
  /** The deepest round of a request answered since the reset. */
  rounds = 0;
  throttled = 0;
  progressCreated = 0;

  count(routeKey: string, status: string, fingerprint: string | null, cost = 0, rows = 0): void {
    this.total++;
    add(this.byRoute, routeKey, 1);
    add(this.byStatus, status, 1);
    if (fingerprint !== null) add(this.byToken, fingerprint, 1);
    this.cost += cost;
    add(this.costByRoute, routeKey, cost);
    if (fingerprint !== null) add(this.costByToken, fingerprint, cost);
    this.rows += rows;
    if (rows > 0) add(this.rowsByRoute, routeKey, rows);
  }

  /** A request arrived: returns its round (one more than the deepest answered before it). */
  enter(): number {
    this.inFlight++;
    if (this.inFlight > this.peakConcurrency) this.peakConcurrency = this.inFlight;
    return this.rounds + 1;
  }

  /** The request of `round` was answered. */
  leave(round: number): void {
    this.inFlight--;
    if (round > this.rounds) this.rounds = round;
  }

  reset(): void {
    this.total = 0;
    this.byRoute.clear();
    this.byStatus.clear();
    this.byToken.clear();
    this.cost = 0;
    this.costByToken.clear();
    this.costByRoute.clear();
    this.rows = 0;
    this.rowsByRoute.clear();
    this.grants = { authorization_code: 0, refresh_token: 0, refused: 0 };
    this.peakConcurrency = this.inFlight;
    this.rounds = 0;
    this.throttled = 0;
    this.progressCreated = 0;
  }
}

function add(map: Map<string, number>, key: string, amount: number): void {
  map.set(key, (map.get(key) ?? 0) + amount);
}

/** Sums of float costs, rounded like `X-Request-Cost` so they read as charged (no 0.30000000000000004). */
export function roundCost(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}

export function roundedEntries(map: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...map].map(([key, value]) => [key, roundCost(value)]));
}
