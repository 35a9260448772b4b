import { once } from "node:events";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { isoSeconds, SimClock } from "./clock.js";
import { createControlPlane } from "./control.js";
import { createSimData, type SimData } from "./data/accessors.js";
import { type ActivityReport, applyActivity } from "./data/activity.js";
import { SimModel } from "./data/model.js";
import {
  CanvasSimError,
  invalidArg,
  SIM_LISTEN_FAILED,
  SIM_UNKNOWN_CLIENT,
  SIM_UNKNOWN_USER,
} from "./errors.js";
import { type ActiveFaultRule, FaultInjector, type FaultRule } from "./faults.js";
import { hash4, Kind } from "./hash.js";
import { type CanvasSimOptions, normalizeOptions } from "./options.js";
import { ProgressJobs } from "./progress.js";
import { analyticsRoutes } from "./routes/analytics.js";
import { courseRoutes } from "./routes/courses.js";
import { gradeRoutes } from "./routes/grades.js";
import { oauthRoutes, tokenResponse } from "./routes/oauth.js";
import { submissionRoutes } from "./routes/submissions.js";
import { userRoutes } from "./routes/users.js";
import type { SimRuntime } from "./runtime.js";
import { RequestPipeline } from "./server.js";
import { roundCost, roundedEntries, type SimStats, StatsCollector } from "./stats.js";
import { Throttle } from "./throttle.js";
import { TokenRegistry, tokenFingerprint } from "./tokens.js";

/** The token endpoint's reply for an authorization_code grant. */
export interface OAuthTokenResponse {
  access_token: string;
  token_type: "Bearer";
  user: { id: number; name: string; global_id: string; effective_locale: string };
  refresh_token: string;
  expires_in: number;
  canvas_region: string;
}

export interface MintOAuthTokensInput {
  userId: number;
  /** Lifetime of this access token in seconds. @default the simulator's tokenTtlSeconds */
  expiresIn?: number;
  /** @default the confidential client */
  clientId?: string;
  /** `url:METHOD|/api/v1/...` scopes; omitted = unscoped. */
  scopes?: string[];
}

export interface CreateDeveloperTokenInput {
  userId: number;
  /** `permanent_expires_at`: epoch ms, Date or ISO string. Past it: 401 "Expired access token." */
  expiresAt?: number | Date | string | null;
  purpose?: string;
  scopes?: string[];
}

export interface RegisterClientInput {
  clientId?: string;
  clientSecret?: string;
  name?: string;
  redirectUris?: string[];
  /** A public PKCE client: no secret, rotating refresh tokens. */
  isPublic?: boolean;
  /** Makes the key "require scopes": /login/oauth2/auth must request a subset of these. */
  scopes?: string[];
}

/** Test conveniences, also reachable under `/__sim/`. */
export interface SimAdmin {
  /** Mints an access + refresh token pair as the authorization_code grant would (not counted in stats). */
  mintOAuthTokens(input: MintOAuthTokensInput): OAuthTokenResponse;
  /** Creates a manual (personal access) token and returns its string. */
  createDeveloperToken(input: CreateDeveloperTokenInput): string;
  /** Deletes an access token (by access or refresh string): later use → 401 "Revoked access token.". */
  revokeToken(token: string): boolean;
  /** Expires a token now (OAuth access: "Invalid access token."; manual or refresh: permanent expiry). */
  expireToken(token: string): boolean;
  /** Makes a course unreadable (403) for a user, or readable again. */
  setCourseForbidden(userId: number, courseId: number, forbidden?: boolean): void;
  /** The analytics plugin on or off (off → analytics routes 404). */
  setAnalyticsEnabled(enabled: boolean): void;
  registerClient(input: RegisterClientInput): {
    clientId: string;
    clientSecret: string | null;
    redirectUris: string[];
  };
  /**
   * Applies a day of activity at the clock's now: `fraction` of each course's submissions submitted or
   * graded, a few excused, a few students dropped and enrolled; deterministic for `seed`.
   */
  applyActivity(options: { fraction: number; seed: number }): ActivityReport;
  /** `X-Rate-Limit-Remaining` of a token's bucket right now. */
  rateLimitRemaining(token: string): number;
  /** Makes a user an account admin (reads every user, manages everyone's access tokens). */
  addAdmin(userId: number): void;
  /**
   * The owner accepts a pending token an admin created for them (by token id or token string), so it
   * starts working. `not-pending` when it was already active; `not-found` when there is no such token.
   */
  activateToken(tokenOrId: string | number): "activated" | "not-pending" | "not-found";
}

export interface SimFaults {
  /** Adds rules (objects or the `--faults` string form); returns their ids. */
  add(rules: FaultRule | FaultRule[] | string): number[];
  remove(id: number): boolean;
  clear(): void;
  list(): ActiveFaultRule[];
}

/** A running simulator. */
export interface CanvasSim {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  readonly url: string;
  /** A ready manual token of the admin functional user (no expiry). */
  readonly developerToken: string;
  /** The confidential OAuth client. */
  readonly clientId: string;
  readonly clientSecret: string;
  /** Registered redirect URI (any port and path on its host is accepted, like Canvas's redirect domain). */
  readonly redirectUri: string;
  /** A public PKCE client (no secret; refresh tokens rotate). */
  readonly publicClientId: string;
  close(): Promise<void>;
  stats(): SimStats;
  resetStats(): void;
  /** Moves simulated time forward (token expiry, throttle leak, Progress jobs). */
  advanceClock(seconds: number): void;
  /** Simulated time, epoch ms. */
  now(): number;
  faults: SimFaults;
  admin: SimAdmin;
  data: SimData;
}

function toMillis(value: number | Date | string | null | undefined): number | null {
  if (value === undefined || value === null) return null;
  if (value instanceof Date) return value.getTime();
  if (typeof value === "number") return value;
  const parsed = Date.parse(value);
  if (Number.isNaN(parsed)) throw invalidArg("expiresAt", value, "must be a date");
  return parsed;
}

/**
 * Starts a Canvas simulator on a real HTTP port.
 * @example
 * const sim = await createCanvasSim({ courses: 2, studentsPerCourse: 30 });
 * const res = await fetch(`${sim.url}/api/v1/courses`, { headers: { Authorization: `Bearer ${sim.developerToken}` } });
 * await sim.close();
 */
export async function createCanvasSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  const opts = normalizeOptions(options);
  const clock = new SimClock(opts.now, opts.freezeClock);
  // Generated data keep their own epoch; the clock follows the wall clock (see options.dataEpoch).
  const model = new SimModel({ ...opts, now: opts.dataEpoch });
  const tokens = new TokenRegistry();
  let secretCounter = 0;
  const seededSecret = () => {
    secretCounter++;
    let out = "";
    for (let i = 0; out.length < 64; i++) out += hash4(opts.seed, Kind.secret, secretCounter, i).toString(36);
    return out.slice(0, 64);
  };
  // The default registration covers both loopback names, so a CLI (127.0.0.1) and a demo gateway
  // (localhost) can both use the built-in clients; an explicit redirectUri is registered alone.
  const redirectUris =
    options.redirectUri === undefined
      ? [opts.redirectUri, "http://localhost/oauth/callback", "http://[::1]/oauth/callback"]
      : [opts.redirectUri];
  const confidentialClient = tokens.registerClient({ name: "Easel", redirectUris }, seededSecret);
  const publicClient = tokens.registerClient(
    { name: "Easel CLI", redirectUris, isPublic: true },
    seededSecret,
  );
  const developerToken = tokens.createManual({
    userId: model.people.adminUserId,
    now: clock.now(),
    purpose: "easel simulator",
    expiresAt: null,
    scopes: null,
  });
  const faults = new FaultInjector(opts.seed);
  if (opts.faults.length > 0) faults.add(opts.faults);
  const rt: SimRuntime = {
    options: opts,
    model,
    clock,
    tokens,
    throttle: new Throttle(opts.throttle, opts.throttleEnabled),
    faults,
    stats: new StatsCollector(),
    jobs: new ProgressJobs(model, opts.jobSeconds),
    forbidden: new Set(),
    analyticsEnabled: opts.analyticsEnabled,
    confidentialClient,
    publicClient,
    developerToken,
    startedAt: Date.now(),
    admins: new Set([model.people.adminUserId]),
  };
  for (const userId of opts.admins) {
    if (!model.people.user(userId))
      throw new CanvasSimError(SIM_UNKNOWN_USER, `No simulated user with id ${userId}`);
    rt.admins.add(userId);
  }

  let url = "";
  const requireUser = (userId: number) => {
    if (!model.people.user(userId))
      throw new CanvasSimError(SIM_UNKNOWN_USER, `No simulated user with id ${userId}`);
  };
  const admin: SimAdmin = {
    mintOAuthTokens(input) {
      requireUser(input.userId);
      const client = tokens.clients.get(input.clientId ?? confidentialClient.id);
      if (!client) throw new CanvasSimError(SIM_UNKNOWN_CLIENT, `No OAuth client ${input.clientId}`);
      const record = tokens.createOAuth({
        userId: input.userId,
        clientId: client.id,
        ttlSeconds: input.expiresIn ?? opts.tokenTtlSeconds,
        now: clock.now(),
        scopes: input.scopes ?? null,
        purpose: null,
        isPublic: client.isPublic,
      });
      return tokenResponse(rt, record, true) as unknown as OAuthTokenResponse;
    },
    createDeveloperToken(input) {
      requireUser(input.userId);
      return tokens.createManual({
        userId: input.userId,
        now: clock.now(),
        purpose: input.purpose ?? "simulator test token",
        expiresAt: toMillis(input.expiresAt),
        scopes: input.scopes ?? null,
      }).token;
    },
    revokeToken: (token) => tokens.revoke(token, clock.now()),
    expireToken: (token) => tokens.expire(token, clock.now()),
    setCourseForbidden(userId, courseId, forbidden = true) {
      if (forbidden) rt.forbidden.add(`${userId}:${courseId}`);
      else rt.forbidden.delete(`${userId}:${courseId}`);
    },
    setAnalyticsEnabled(enabled) {
      rt.analyticsEnabled = enabled;
    },
    applyActivity({ fraction, seed }) {
      if (typeof fraction !== "number" || !(fraction >= 0 && fraction <= 1)) {
        throw invalidArg("fraction", fraction, "must be a number in [0, 1]");
      }
      if (!Number.isSafeInteger(seed)) throw invalidArg("seed", seed, "must be an integer");
      return applyActivity(rt.model, { fraction, seed, at: clock.now() });
    },
    registerClient(input) {
      const client = tokens.registerClient(
        {
          id: input.clientId,
          secret: input.clientSecret,
          name: input.name,
          redirectUris: input.redirectUris ?? redirectUris,
          isPublic: input.isPublic,
          scopes: input.scopes ?? null,
        },
        seededSecret,
      );
      return { clientId: client.id, clientSecret: client.secret, redirectUris: client.redirectUris };
    },
    addAdmin(userId) {
      requireUser(userId);
      rt.admins.add(userId);
    },
    activateToken(tokenOrId) {
      const record =
        typeof tokenOrId === "number" || /^\d+$/.test(tokenOrId)
          ? tokens.byId(Number(tokenOrId))
          : tokens.byToken(tokenOrId);
      return record ? tokens.activate(record, clock.now()) : "not-found";
    },
    rateLimitRemaining: (token) => rt.throttle.remaining(`token:${tokenFingerprint(token)}`, clock.now()),
  };

  const stats = (): SimStats => {
    const s = rt.stats;
    return {
      requests: {
        total: s.total,
        byRoute: Object.fromEntries(s.byRoute),
        byStatus: Object.fromEntries(s.byStatus),
        byToken: Object.fromEntries(s.byToken),
      },
      cost: {
        total: roundCost(s.cost),
        byToken: roundedEntries(s.costByToken),
        byRoute: roundedEntries(s.costByRoute),
      },
      rows: { total: s.rows, byRoute: Object.fromEntries(s.rowsByRoute) },
      tokenGrants: { ...s.grants },
      peakConcurrency: s.peakConcurrency,
      rounds: s.rounds,
      inFlight: s.inFlight,
      throttled: s.throttled,
      faults: { injected: faults.injected, byKind: Object.fromEntries(faults.byKind) },
      progress: { created: s.progressCreated },
      clock: { now: isoSeconds(clock.now()), nowMs: Math.floor(clock.now()) },
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
      uptimeSeconds: (Date.now() - rt.startedAt) / 1000,
    };
  };
  const resetStats = () => {
    rt.stats.reset();
    faults.resetCounters();
  };
  const faultHandle: SimFaults = {
    add: (rules) => faults.add(rules),
    remove: (id) => faults.remove(id),
    clear: () => faults.clear(),
    list: () => faults.list(),
  };
  const advanceClock = (seconds: number) => {
    if (typeof seconds !== "number" || !Number.isFinite(seconds)) {
      throw invalidArg("seconds", seconds, "must be a finite number");
    }
    clock.advance(seconds);
    rt.jobs.settle(clock.now());
  };

  const control = createControlPlane({
    rt,
    admin,
    stats,
    resetStats,
    faults: faultHandle,
    advanceClock,
    url: () => url,
  });
  const pipeline = new RequestPipeline(
    rt,
    [
      ...oauthRoutes(),
      ...courseRoutes(),
      ...submissionRoutes(),
      ...gradeRoutes(),
      ...analyticsRoutes(),
      ...userRoutes(),
    ],
    control,
  );
  const server = createServer({ keepAliveTimeout: 30_000, requestTimeout: 0 }, pipeline.handle);
  server.headersTimeout = 60_000;
  try {
    server.listen(opts.port, opts.host);
    await once(server, "listening");
  } catch (error) {
    throw new CanvasSimError(SIM_LISTEN_FAILED, `Cannot listen on ${opts.host}:${opts.port}`, {
      cause: error,
    });
  }
  const address = server.address() as AddressInfo;
  const hostForUrl = address.family === "IPv6" ? `[${address.address}]` : address.address;
  url = `http://${hostForUrl}:${address.port}`;
  const data = createSimData(
    model,
    rt.jobs,
    () => url,
    () => clock.now(),
  );

  let closing: Promise<void> | null = null;
  return {
    url,
    developerToken: developerToken.token,
    clientId: confidentialClient.id,
    clientSecret: confidentialClient.secret!,
    redirectUri: opts.redirectUri,
    publicClientId: publicClient.id,
    close() {
      closing ??= closeServer(server);
      return closing;
    },
    stats,
    resetStats,
    advanceClock,
    now: () => clock.now(),
    faults: faultHandle,
    admin,
    data,
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((error) => (error ? reject(error) : resolve()));
    server.closeAllConnections();
  });
}
