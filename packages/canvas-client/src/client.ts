import type { TokenProvider } from "@easel/auth";
import { raceAbort } from "@easel/clock";
import { Pool } from "undici";
import { attemptSignal } from "./attempt-signal.js";
import { encodeParams, type Params } from "./encode.js";
import {
  AccountsApi,
  AnalyticsApi,
  AssignmentsApi,
  CoursesApi,
  EnrollmentsApi,
  GradesApi,
  ProgressApi,
  SubmissionsApi,
  TokensApi,
  UsersApi,
} from "./endpoints.js";
import { CanvasNetworkError } from "./errors.js";
import { type CanvasLogger, debugEnabled, pathTemplate, redactedPath } from "./logger.js";
import {
  type CanvasClientOptions,
  MAX_PER_PAGE,
  type NormalizedOptions,
  normalizeOptions,
} from "./options.js";
import { Pacer } from "./pacer.js";
import {
  type CanvasPage,
  type FetchedPage,
  type PaginateOptions,
  readPage,
  validPrefetch,
  walkPages,
} from "./pagination.js";
import {
  type AttemptState,
  classifyTransportError,
  type Decision,
  decide,
  type HeaderValues,
  headerNumber,
  isThrottled,
  type Outcome,
  type PolicyContext,
  type RawResponse,
  requestIdOf,
} from "./response-policy.js";

export type { CanvasPage, PaginateOptions } from "./pagination.js";

export type HttpMethod = "GET" | "HEAD" | "POST" | "PUT" | "PATCH" | "DELETE";

export interface RequestOptions {
  /** Query parameters; arrays become `key[]=v`, objects `key[sub]=v`. */
  query?: Params;
  /** A JSON body (`Content-Type: application/json`). */
  body?: unknown;
  /** A form body (`application/x-www-form-urlencoded`), nested like `grade_data[5][posted_grade]`. */
  form?: Params;
  signal?: AbortSignal;
  /**
   * Whether the request may be replayed after a 5xx, a dropped connection or a timeout.
   * @default true for GET, HEAD, PUT and DELETE; false for POST and PATCH
   */
  idempotent?: boolean;
}

/** Counters since the client was created; `inFlight`/`concurrencyLimit` are current values. */
export interface CanvasClientStats {
  /** HTTP requests sent (every attempt counts). */
  requests: number;
  /** Re-sends after a 5xx, a network error, a timeout or a malformed body. */
  retries: number;
  /** Throttled answers seen (429, or 403 "Rate Limit Exceeded"). */
  throttled: number;
  /** `handleUnauthorized` calls (401 + `WWW-Authenticate`). */
  refreshes: number;
  networkErrors: number;
  timeouts: number;
  /** Response body bytes received. */
  bytes: number;
  byStatus: Record<string, number>;
  /** Requests the bucket (as modelled) has room for at once now, at most `maxConcurrency`. */
  concurrencyLimit: number;
  inFlight: number;
  /**
   * `X-Rate-Limit-Remaining` as the pacer estimates it now: the last answers, plus what has leaked
   * since, less the up-front cost of the requests in flight (pacing on only).
   */
  rateLimitRemaining: number | undefined;
}

interface LogContext {
  method: HttpMethod;
  /** Path template (`/api/v1/courses/:id/...`): no ids, no query. */
  path: string;
}

interface ExecuteOptions {
  body?: string;
  contentType?: string;
  signal?: AbortSignal | undefined;
  idempotent: boolean;
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);

/**
 * A Canvas REST client on one undici keep-alive pool: Link pagination that streams, pacing on
 * Canvas's rate-limit headers, retries for what is safe to retry, typed errors, and typed
 * endpoint groups. Create one per Canvas host and token provider, and `close()` it when done.
 *
 * @example
 * const canvas = new CanvasClient({ baseUrl: "https://school.instructure.com", auth: process.env.CANVAS_ACCESS_TOKEN! });
 * for await (const e of canvas.enrollments.forCourse(42, { type: ["StudentEnrollment"] })) {
 *   console.log(e.user_id, e.grades?.current_score);
 * }
 * await canvas.close();
 */
export class CanvasClient {
  readonly courses: CoursesApi;
  readonly accounts: AccountsApi;
  readonly users: UsersApi;
  readonly enrollments: EnrollmentsApi;
  readonly assignments: AssignmentsApi;
  readonly submissions: SubmissionsApi;
  readonly analytics: AnalyticsApi;
  readonly progress: ProgressApi;
  readonly grades: GradesApi;
  readonly tokens: TokensApi;

  /** @internal normalised options, for the endpoint groups. */
  readonly options: Readonly<NormalizedOptions>;
  private readonly auth: TokenProvider;
  private readonly logger: CanvasLogger;
  private readonly pool: Pool;
  private readonly pacer: Pacer;
  private readonly counters = {
    requests: 0,
    retries: 0,
    throttled: 0,
    refreshes: 0,
    networkErrors: 0,
    timeouts: 0,
    bytes: 0,
    byStatus: {} as Record<string, number>,
  };
  private refreshing: { rejected: string; promise: Promise<string> } | undefined;
  /** Path prefix of `baseUrl` without the trailing slash ("" for a Canvas at the root). */
  private readonly basePath: string;
  private closed = false;

  constructor(options: CanvasClientOptions) {
    this.options = normalizeOptions(options);
    this.auth = this.options.auth;
    this.logger = this.options.logger;
    this.basePath = this.options.baseUrl.pathname.replace(/\/+$/, "");
    this.pacer = new Pacer(
      this.options.maxConcurrency,
      this.options.pacing,
      this.options.clock,
      this.options.logger,
    );
    // A Pool is bound to one origin: a request elsewhere (with our token) is impossible by construction.
    this.pool = new Pool(this.options.baseUrl.origin, {
      connections: this.options.maxConcurrency,
      keepAliveTimeout: 30_000,
      headersTimeout: this.options.timeoutMs,
      bodyTimeout: this.options.timeoutMs,
    });
    this.courses = new CoursesApi(this);
    this.accounts = new AccountsApi(this);
    this.users = new UsersApi(this);
    this.enrollments = new EnrollmentsApi(this);
    this.assignments = new AssignmentsApi(this);
    this.submissions = new SubmissionsApi(this);
    this.analytics = new AnalyticsApi(this);
    this.progress = new ProgressApi(this);
    this.grades = new GradesApi(this);
    this.tokens = new TokensApi(this);
  }

  /**
   * One request; resolves the parsed JSON (undefined for an empty body).
   * @param path `/api/v1/...` (relative to `baseUrl`) or an absolute URL on the same origin.
   * @example
   * const me = await canvas.request<User>("GET", "/api/v1/users/self");
   * await canvas.request("PUT", "/api/v1/courses/1/users/2/last_attended", { form: { date: "2024-01-01" } });
   */
  async request<T = unknown>(method: HttpMethod, path: string, options: RequestOptions = {}): Promise<T> {
    const url = this.resolve(path, options.query);
    let body: string | undefined;
    let contentType: string | undefined;
    if (options.form !== undefined && options.body !== undefined) {
      const error = new TypeError("request(): pass either `form` or `body`, not both");
      (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
      throw error;
    }
    if (options.form !== undefined) {
      body = encodeParams(options.form);
      contentType = "application/x-www-form-urlencoded";
    } else if (options.body !== undefined) {
      body = JSON.stringify(options.body);
      contentType = "application/json";
    }
    const response = await this.execute(method, url, {
      body,
      contentType,
      signal: options.signal,
      idempotent: options.idempotent ?? IDEMPOTENT_METHODS.has(method),
    });
    return response.data as T;
  }

  /**
   * Every page of a list, following only `Link: rel="next"`. The next page is requested while the
   * caller handles the current one (`prefetch`); leaving the loop early aborts it.
   */
  async *pages<T>(
    path: string,
    query?: Params,
    options: PaginateOptions = {},
  ): AsyncGenerator<CanvasPage<T>> {
    const prefetch = validPrefetch(options.prefetch ?? 1);
    const requested = Number(query?.per_page ?? this.options.perPage);
    const perPage = Math.max(
      1,
      Math.min(MAX_PER_PAGE, Number.isFinite(requested) ? requested : MAX_PER_PAGE),
    );
    const first = this.resolve(path, { ...query, per_page: perPage });
    yield* walkPages<T>(first, (url, index, signal) => this.fetchPage<T>(url, index, signal), {
      prefetch,
      signal: options.signal,
      onPrefetchPause: options.onPrefetchPause,
    });
  }

  /**
   * Every item of a list, page after page, in Canvas's order. Memory stays flat: at most
   * `prefetch + 1` pages are held.
   * @example
   * for await (const s of canvas.paginate<Submission>("/api/v1/courses/1/students/submissions", { student_ids: ["all"] })) { ... }
   */
  async *paginate<T>(path: string, query?: Params, options: PaginateOptions = {}): AsyncGenerator<T> {
    for await (const page of this.pages<T>(path, query, options)) {
      yield* page.items;
    }
  }

  /** The whole list as an array: for small lists only (courses of a user, assignments of a course). */
  async collect<T>(path: string, query?: Params, options: PaginateOptions = {}): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.pages<T>(path, query, options)) out.push(...page.items);
    return out;
  }

  /** Counters for progress displays ("retries and throttles so far"). */
  stats(): CanvasClientStats {
    return { ...this.counters, byStatus: { ...this.counters.byStatus }, ...this.pacer.snapshot() };
  }

  /** Closes the keep-alive pool; requests after this fail with NETWORK. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.pacer.close(new CanvasNetworkError("Canvas client closed"));
    await this.pool.close();
  }

  /** @internal builds a URL on the base origin; absolute URLs must stay on it. */
  resolve(path: string, query?: Params): URL {
    let url: URL;
    if (/^https?:\/\//i.test(path)) {
      url = new URL(path);
      if (url.origin !== this.options.baseUrl.origin) {
        const error = new TypeError("request path is an absolute URL on another origin than baseUrl");
        (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
        throw error;
      }
    } else if (path.startsWith("/")) {
      url = new URL(`${this.options.baseUrl.origin}${this.basePath}${path}`);
    } else {
      const error = new TypeError(
        `request path must start with "/" or be an absolute URL; received "${path}"`,
      );
      (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
      throw error;
    }
    const extra = encodeParams(query);
    if (extra) url = new URL(url.search ? `${url.href}&${extra}` : `${url.href}?${extra}`);
    return url;
  }

  private async fetchPage<T>(url: URL, index: number, signal: AbortSignal): Promise<FetchedPage<T>> {
    const response = await this.execute("GET", url, { signal, idempotent: true });
    return readPage<T>(url, index, response, this.options.baseUrl.origin);
  }

  private refreshFor(rejected: string): Promise<string> {
    // Requests that were in flight with the same token share one refresh.
    if (this.refreshing?.rejected === rejected) return this.refreshing.promise;
    this.counters.refreshes++;
    const promise = this.auth.handleUnauthorized(rejected);
    this.refreshing = { rejected, promise };
    promise.catch(() => {});
    return promise;
  }

  /** The request loop: pacing, auth, one attempt, then whatever the response policy decides. */
  private async execute(method: HttpMethod, url: URL, options: ExecuteOptions): Promise<RawResponse> {
    const { signal, idempotent } = options;
    const { clock } = this.options;
    const path = redactedPath(url.pathname);
    const policy: Omit<PolicyContext, "now"> = {
      method,
      path,
      idempotent,
      budget: this.options.retry,
      pacing: this.options.pacing.enabled,
      timeoutMs: this.options.timeoutMs,
      random: Math.random,
    };
    const log: LogContext = { method, path: pathTemplate(url.pathname) };
    let state: AttemptState = { attempt: 0, transient: 0, throttles: 0, refreshed: false };
    let freshToken: string | undefined;

    for (;;) {
      state = { ...state, attempt: state.attempt + 1 };
      if (this.closed)
        throw new CanvasNetworkError("Canvas client closed", { method, path, attempts: state.attempt - 1 });
      await this.pacer.acquire(signal);
      let token: string;
      try {
        token = freshToken ?? (await this.auth.getAccessToken(signal ? { signal } : undefined));
      } catch (error) {
        // e.g. ReauthorizationRequiredError from the provider: not ours to retry.
        this.pacer.release();
        throw error;
      }
      const started = performance.now();
      const outcome = await this.attempt(method, url, options, token);
      const durationMs = Math.round(performance.now() - started);
      const decision = this.decideAndFeedPacer({ ...policy, now: clock.now() }, state, outcome);
      this.report(log, state, outcome, decision, durationMs);

      switch (decision.action) {
        case "accept":
          return decision.response;
        case "fail":
          throw decision.error;
        case "retry":
          state = { ...state, transient: state.transient + 1 };
          await clock.sleep(decision.delayMs, signal);
          break;
        case "throttle-wait":
          state = { ...state, throttles: state.throttles + 1 };
          await clock.sleep(decision.delayMs, signal);
          break;
        case "refresh-then-retry": {
          state = { ...state, refreshed: true };
          const next = await raceAbort(this.refreshFor(token), signal);
          if (next === token) throw decision.sameTokenError;
          freshToken = next;
          break;
        }
      }
    }
  }

  /** Counters and log lines of one attempt (never a token, never a body). */
  private report(
    log: LogContext,
    state: AttemptState,
    outcome: Outcome,
    decision: Decision,
    durationMs: number,
  ): void {
    const { attempt } = state;
    if (outcome.kind === "no-answer") {
      if (outcome.failure === "timeout") this.counters.timeouts++;
      else this.counters.networkErrors++;
      if (decision.action === "retry") {
        this.counters.retries++;
        this.logger.warn(
          { ...log, attempt, durationMs, reason: decision.reason, delayMs: decision.delayMs },
          "Canvas request failed without an answer; retrying",
        );
      }
      return;
    }
    const { status, headers } = outcome;
    // The one line every request writes: its fields are built only when debug lines are written
    // (a million-row export makes thousands of requests, most with a silent logger).
    if (debugEnabled(this.logger)) {
      const remaining = headerNumber(headers, "x-rate-limit-remaining");
      const cost = headerNumber(headers, "x-request-cost");
      const requestId = requestIdOf(headers);
      this.logger.debug(
        { ...log, status, durationMs, cost, remaining, attempt, requestId },
        "Canvas request",
      );
    }
    switch (decision.action) {
      case "retry": {
        this.counters.retries++;
        const { delayMs, reason } = decision;
        if (reason === "malformed JSON") {
          this.logger.warn(
            { ...log, status, attempt, reason, delayMs },
            "Canvas answer is not valid JSON; retrying",
          );
        } else {
          this.logger.warn({ ...log, status, attempt, delayMs }, "Canvas server error; retrying");
        }
        break;
      }
      case "throttle-wait":
        this.logger.warn(
          {
            ...log,
            status,
            attempt,
            remaining: headerNumber(headers, "x-rate-limit-remaining"),
            throttles: state.throttles + 1,
            delayMs: decision.delayMs,
          },
          "Canvas throttled the request (rate limit); backing off",
        );
        break;
      case "refresh-then-retry":
        this.logger.info(
          { ...log, status, attempt },
          "Canvas rejected the access token; asking the token provider for a fresh one",
        );
        break;
    }
  }

  /**
   * The policy's decision; an answer also gives the pacer its rate-limit feedback and the slot
   * back. A healthy answer does so before its body is parsed, so other requests can start sooner.
   */
  private decideAndFeedPacer(context: PolicyContext, state: AttemptState, outcome: Outcome): Decision {
    if (outcome.kind === "no-answer") return decide(context, state, outcome);
    if (!isThrottled(outcome.status, outcome.text)) {
      this.pacer.observe(
        headerNumber(outcome.headers, "x-rate-limit-remaining"),
        headerNumber(outcome.headers, "x-request-cost"),
      );
      this.pacer.release();
      return decide(context, state, outcome);
    }
    this.counters.throttled++;
    try {
      const decision = decide(context, state, outcome);
      this.pacer.throttled("throttle" in decision ? (decision.throttle?.pacerDelayMs ?? 0) : 0);
      return decision;
    } finally {
      this.pacer.release();
    }
  }

  /**
   * Sends one attempt (the pacer slot already taken) and reads the whole body. Releases the slot
   * itself when no answer comes; after an answer the caller feeds the pacer first.
   */
  private async attempt(
    method: HttpMethod,
    url: URL,
    options: ExecuteOptions,
    token: string,
  ): Promise<Outcome> {
    const { signal } = options;
    const timeout = attemptSignal(signal, this.options.timeoutMs);
    try {
      const requestHeaders: Record<string, string> = {
        authorization: `Bearer ${token}`,
        accept: "application/json",
        "user-agent": this.options.userAgent,
      };
      if (options.contentType) requestHeaders["content-type"] = options.contentType;
      this.counters.requests++;
      const response = await this.pool.request({
        path: url.pathname + url.search,
        method,
        headers: requestHeaders,
        body: options.body,
        signal: timeout.signal,
      });
      const status = response.statusCode;
      const headers: HeaderValues = response.headers;
      const text = await response.body.text();
      timeout.dispose();
      this.counters.bytes += Buffer.byteLength(text);
      this.counters.byStatus[status] = (this.counters.byStatus[status] ?? 0) + 1;
      return { kind: "answer", status, headers, text };
    } catch (error) {
      timeout.dispose();
      this.pacer.release();
      if (signal?.aborted) throw signal.reason;
      const failure = classifyTransportError(error, timeout.timedOut, this.closed);
      // Not a transport failure (a bad argument, a bug): surface it as is.
      if (!failure) throw error;
      return failure;
    }
  }
}
