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
  grants = { authorization_code: 0, refresh_token: 0, refused: 0 };
  inFlight = 0;
  peakConcurrency = 0;
  /** The deepest round of a request answered since the reset. */
  rounds = 0;
  throttled = 0;
  progressCreated = 0;

  count(routeKey: string, status: string, fingerprint: string | null): void {
    this.total++;
    this.byRoute.set(routeKey, (this.byRoute.get(routeKey) ?? 0) + 1);
    this.byStatus.set(status, (this.byStatus.get(status) ?? 0) + 1);
    if (fingerprint !== null) this.byToken.set(fingerprint, (this.byToken.get(fingerprint) ?? 0) + 1);
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
    this.grants = { authorization_code: 0, refresh_token: 0, refused: 0 };
    this.peakConcurrency = this.inFlight;
    this.rounds = 0;
    this.throttled = 0;
    this.progressCreated = 0;
  }
}
