import type { TokenProvider } from "@easel/auth";
import { Pool } from "undici";
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
import {
  CANVAS_API_ERROR,
  CanvasApiError,
  CanvasBadRequestError,
  type CanvasErrorDetails,
  CanvasForbiddenError,
  CanvasNetworkError,
  CanvasNotFoundError,
  CanvasRateLimitError,
  CanvasResponseError,
  CanvasServerError,
  CanvasTimeoutError,
  CanvasUnauthorizedError,
} from "./errors.js";
import { type PageLinks, parseLinkHeader } from "./link.js";
import { type CanvasLogger, pathTemplate, redactedPath } from "./logger.js";
import {
  type CanvasClientOptions,
  MAX_PER_PAGE,
  type NormalizedOptions,
  normalizeOptions,
} from "./options.js";
import { Pacer } from "./pacer.js";
import { attemptSignal, backoffDelay, parseRetryAfter, raceAbort, sleep } from "./retry.js";

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

export interface PaginateOptions {
  signal?: AbortSignal;
  /**
   * Pages fetched ahead while the caller consumes the current one (0 = fetch on demand). Memory
   * holds at most `prefetch + 1` pages.
   * @default 1
   */
  prefetch?: number;
}

/** One page of a list, as `pages()` yields it. */
export interface CanvasPage<T> {
  items: T[];
  /** 0 for the first page. */
  index: number;
  /** The page's `Link` header (absolute URLs from Canvas). */
  links: PageLinks;
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

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  data: unknown;
}

interface ExecuteOptions {
  body?: string;
  contentType?: string;
  signal?: AbortSignal | undefined;
  idempotent: boolean;
}

const IDEMPOTENT_METHODS = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
// Errors raised before the request could reach Canvas: replaying them is always safe.
const NEVER_SENT_CODES = new Set([
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "UND_ERR_CONNECT_TIMEOUT",
  "ENETUNREACH",
  "EHOSTUNREACH",
]);
const CLOSED_CODES = new Set(["UND_ERR_CLOSED", "UND_ERR_DESTROYED"]);
const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_BODY_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT"]);

function header(headers: RawResponse["headers"], name: string): string | undefined {
  // undici lower-cases header names; repeated headers arrive as arrays.
  const value = headers[name];
  if (Array.isArray(value)) return value.join(",");
  return value;
}

function headerNumber(headers: RawResponse["headers"], name: string): number | undefined {
  const value = header(headers, name);
  if (value === undefined) return undefined;
  const n = Number.parseFloat(value);
  return Number.isFinite(n) ? n : undefined;
}

function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

/** Messages from Canvas's error shapes; never the raw body. */
function canvasMessagesOf(data: unknown): string[] {
  const out: string[] = [];
  const add = (value: unknown) => {
    if (typeof value === "string" && value.length > 0 && out.length < 10) out.push(value.slice(0, 500));
  };
  const fromErrors = (errors: unknown) => {
    if (typeof errors === "string") add(errors);
    else if (Array.isArray(errors)) {
      for (const e of errors)
        typeof e === "string" ? add(e) : add((e as { message?: unknown } | null)?.message);
    } else if (typeof errors === "object" && errors !== null) {
      for (const value of Object.values(errors)) {
        if (Array.isArray(value)) fromErrors(value);
        else if (typeof value === "object" && value !== null) add((value as { message?: unknown }).message);
        else add(value);
      }
    }
  };
  if (Array.isArray(data)) fromErrors(data);
  else if (typeof data === "object" && data !== null) {
    const body = data as { errors?: unknown; message?: unknown; error?: unknown };
    fromErrors(body.errors);
    add(body.message);
    add(body.error);
  }
  return out;
}

function parseJson(text: string): unknown {
  // Canvas prefixes JSON with `while(1);` for session-authenticated GETs (JSON hijacking guard).
  const body = text.startsWith("while(1);") ? text.slice(9) : text;
  return JSON.parse(body);
}

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
    this.pacer = new Pacer(this.options.maxConcurrency, this.options.pacing);
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
    const prefetch = options.prefetch ?? 1;
    if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 16) {
      const error = new TypeError(
        `paginate option "prefetch" must be an integer from 0 to 16; received ${prefetch}`,
      );
      (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
      throw error;
    }
    const requested = Number(query?.per_page ?? this.options.perPage);
    const perPage = Math.max(
      1,
      Math.min(MAX_PER_PAGE, Number.isFinite(requested) ? requested : MAX_PER_PAGE),
    );
    const first = this.resolve(path, { ...query, per_page: perPage });

    const controller = new AbortController();
    const onCallerAbort = () => controller.abort(options.signal?.reason);
    if (options.signal?.aborted) throw options.signal.reason;
    options.signal?.addEventListener("abort", onCallerAbort, { once: true });

    const buffer: Array<CanvasPage<T>> = [];
    let finished = false;
    let failure: { error: unknown } | undefined;
    let consumerWaiting = false;
    let wakeConsumer: (() => void) | undefined;
    let wakeProducer: (() => void) | undefined;
    const notifyConsumer = () => {
      // Cleared here, not when the consumer resumes: the producer must not read a stale "waiting".
      consumerWaiting = false;
      const wake = wakeConsumer;
      wakeConsumer = undefined;
      wake?.();
    };
    const notifyProducer = () => {
      const wake = wakeProducer;
      wakeProducer = undefined;
      wake?.();
    };

    const produce = async () => {
      let url: URL | undefined = first;
      let index = 0;
      while (url) {
        while (buffer.length >= prefetch && !consumerWaiting) {
          await new Promise<void>((resolve) => {
            wakeProducer = resolve;
          });
          if (controller.signal.aborted) return;
        }
        const fetched: { page: CanvasPage<T>; next?: URL; nextError?: CanvasResponseError } =
          await this.fetchPage<T>(url, index++, controller.signal);
        const { page, next, nextError } = fetched;
        buffer.push(page);
        notifyConsumer();
        // The rows of this page are good; the problem is where (or whether) the list continues.
        if (nextError) throw nextError;
        url = next;
      }
    };
    produce().then(
      () => {
        finished = true;
        notifyConsumer();
      },
      (error: unknown) => {
        failure = { error };
        notifyConsumer();
      },
    );

    try {
      for (;;) {
        const page = buffer.shift();
        if (page) {
          notifyProducer();
          yield page;
          continue;
        }
        if (failure) throw failure.error;
        if (finished) return;
        consumerWaiting = true;
        notifyProducer();
        await new Promise<void>((resolve) => {
          wakeConsumer = resolve;
        });
      }
    } finally {
      // Early `break` or an error: cancel the request in flight, release the producer.
      controller.abort(new DOMException("pagination stopped", "AbortError"));
      notifyProducer();
      options.signal?.removeEventListener("abort", onCallerAbort);
    }
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

  private async fetchPage<T>(
    url: URL,
    index: number,
    signal: AbortSignal,
  ): Promise<{ page: CanvasPage<T>; next?: URL; nextError?: CanvasResponseError }> {
    const response = await this.execute("GET", url, { signal, idempotent: true });
    const details: CanvasErrorDetails = {
      status: response.status,
      method: "GET",
      path: redactedPath(url.pathname),
      requestId: header(response.headers, "x-request-context-id") ?? header(response.headers, "x-request-id"),
    };
    if (!Array.isArray(response.data)) {
      throw new CanvasResponseError(
        `Canvas GET ${details.path} returned a page that is not a JSON array`,
        details,
      );
    }
    const linkHeader = header(response.headers, "link");
    const links = parseLinkHeader(linkHeader);
    const page: CanvasPage<T> = { items: response.data as T[], index, links };
    if (links.next) {
      let next: URL;
      try {
        next = new URL(links.next);
      } catch (cause) {
        const nextError = new CanvasResponseError(`Canvas GET ${details.path} sent an unparsable next link`, {
          ...details,
          cause,
        });
        return { page, nextError };
      }
      // Never send the token to a host the caller did not configure.
      if (next.origin !== this.options.baseUrl.origin) {
        const nextError = new CanvasResponseError(
          `Canvas GET ${details.path} sent a next link to another origin (${next.origin}); refusing to follow it`,
          details,
        );
        return { page, nextError };
      }
      // We authenticate with the header; a token in a URL would end up in logs and proxies.
      next.searchParams.delete("access_token");
      if (next.href === url.href) {
        return {
          page,
          nextError: new CanvasResponseError(
            `Canvas GET ${details.path} sent a next link to the same page`,
            details,
          ),
        };
      }
      return { page, next };
    }
    if (linkHeader === undefined) {
      // A full page with no Link header at all may be a list cut short by a proxy or a bug:
      // fail loudly rather than silently return the first page only.
      const perPage = Number(url.searchParams.get("per_page"));
      if (perPage > 0 && response.data.length >= perPage) {
        const nextError = new CanvasResponseError(
          `Canvas GET ${details.path} returned a full page (${response.data.length} items) without a Link header; the list may continue`,
          details,
        );
        return { page, nextError };
      }
    }
    return { page };
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

  /** The request loop: pacing, auth, retries, classification. */
  private async execute(method: HttpMethod, url: URL, options: ExecuteOptions): Promise<RawResponse> {
    const { signal, idempotent } = options;
    const { retries, minDelayMs, maxDelayMs, rateLimitRetries } = this.options.retry;
    const logPath = pathTemplate(url.pathname);
    const base: CanvasErrorDetails = { method, path: redactedPath(url.pathname) };
    const requestPath = url.pathname + url.search;
    let attempt = 0;
    let transient = 0;
    let throttles = 0;
    let refreshed = false;
    let freshToken: string | undefined;

    for (;;) {
      attempt++;
      if (this.closed)
        throw new CanvasNetworkError("Canvas client closed", { ...base, attempts: attempt - 1 });
      await this.pacer.acquire(signal);
      let released = false;
      const release = () => {
        if (!released) {
          released = true;
          this.pacer.release();
        }
      };

      let token: string;
      let status: number;
      let headers: RawResponse["headers"];
      let text: string;
      try {
        token = freshToken ?? (await this.auth.getAccessToken(signal ? { signal } : undefined));
      } catch (error) {
        // e.g. ReauthorizationRequiredError from the provider: not ours to retry.
        release();
        throw error;
      }
      const timeout = attemptSignal(signal, this.options.timeoutMs);
      const started = performance.now();
      try {
        const requestHeaders: Record<string, string> = {
          authorization: `Bearer ${token}`,
          accept: "application/json",
          "user-agent": this.options.userAgent,
        };
        if (options.contentType) requestHeaders["content-type"] = options.contentType;
        this.counters.requests++;
        const response = await this.pool.request({
          path: requestPath,
          method,
          headers: requestHeaders,
          body: options.body,
          signal: timeout.signal,
        });
        status = response.statusCode;
        headers = response.headers;
        text = await response.body.text();
        timeout.dispose();
      } catch (error) {
        timeout.dispose();
        release();
        if (signal?.aborted) throw signal.reason;
        const code = errorCode(error);
        // Not a transport failure (a bad argument, a bug): surface it as is.
        if (!timeout.timedOut && (code === undefined || code === "UND_ERR_INVALID_ARG")) throw error;
        const isTimeout = timeout.timedOut || TIMEOUT_CODES.has(code ?? "");
        const closed = CLOSED_CODES.has(code ?? "") || this.closed;
        const neverSent = NEVER_SENT_CODES.has(code ?? "");
        const durationMs = Math.round(performance.now() - started);
        if (isTimeout) this.counters.timeouts++;
        else this.counters.networkErrors++;
        if (!closed && (idempotent || neverSent) && transient < retries) {
          transient++;
          this.counters.retries++;
          const delayMs = backoffDelay(transient, minDelayMs, maxDelayMs);
          this.logger.warn(
            {
              method,
              path: logPath,
              attempt,
              durationMs,
              reason: isTimeout ? "timeout" : (code ?? "network"),
              delayMs,
            },
            "Canvas request failed without an answer; retrying",
          );
          await sleep(delayMs, signal);
          continue;
        }
        const details: CanvasErrorDetails = {
          ...base,
          cause: error,
          attempts: attempt,
          maybeApplied: !idempotent && !neverSent,
        };
        if (isTimeout) {
          throw new CanvasTimeoutError(
            `Canvas ${method} ${base.path} got no complete answer within ${this.options.timeoutMs} ms`,
            details,
          );
        }
        throw new CanvasNetworkError(
          `Canvas ${method} ${base.path} failed without an answer (${closed ? "client closed" : (code ?? "network error")})`,
          details,
        );
      }

      const durationMs = Math.round(performance.now() - started);
      this.counters.bytes += Buffer.byteLength(text);
      this.counters.byStatus[status] = (this.counters.byStatus[status] ?? 0) + 1;
      const remaining = headerNumber(headers, "x-rate-limit-remaining");
      const cost = headerNumber(headers, "x-request-cost");
      const requestId = header(headers, "x-request-context-id") ?? header(headers, "x-request-id");
      const throttled = status === 429 || (status === 403 && /rate limit exceeded/i.test(text));
      let throttleBackoffMs = 0;
      if (throttled) {
        throttles++;
        this.counters.throttled++;
        const retryAfter = parseRetryAfter(header(headers, "retry-after"));
        throttleBackoffMs = Math.max(
          backoffDelay(throttles, minDelayMs, maxDelayMs),
          Math.min(retryAfter ?? 0, maxDelayMs),
        );
        // With pacing on, the pacer holds EVERY request until the bucket has room again; the first
        // throttle needs no extra delay, repeated ones (or a Retry-After) add the backoff.
        const again = throttles > 1 || retryAfter !== undefined;
        this.pacer.throttled(again && throttles <= rateLimitRetries ? throttleBackoffMs : 0);
      } else {
        this.pacer.observe(remaining, cost);
      }
      release();
      this.logger.debug(
        { method, path: logPath, status, durationMs, cost, remaining, attempt, requestId },
        "Canvas request",
      );

      if (status >= 200 && status < 300) {
        if (text.length === 0 || status === 204 || method === "HEAD")
          return { status, headers, data: undefined };
        try {
          return { status, headers, data: parseJson(text) };
        } catch (cause) {
          // Usually a body cut short (connection dropped mid-body without a length check).
          if (idempotent && transient < retries) {
            transient++;
            this.counters.retries++;
            const delayMs = backoffDelay(transient, minDelayMs, maxDelayMs);
            this.logger.warn(
              { method, path: logPath, status, attempt, reason: "malformed JSON", delayMs },
              "Canvas answer is not valid JSON; retrying",
            );
            await sleep(delayMs, signal);
            continue;
          }
          throw new CanvasResponseError(
            `Canvas ${method} ${base.path} answered ${status} with a body that is not JSON`,
            {
              ...base,
              status,
              requestId,
              attempts: attempt,
              cause: cause instanceof Error ? new SyntaxError(cause.message.slice(0, 120)) : undefined,
            },
          );
        }
      }

      let data: unknown;
      try {
        data = text.length > 0 ? parseJson(text) : undefined;
      } catch {
        data = undefined;
      }
      const details: CanvasErrorDetails = {
        ...base,
        status,
        requestId,
        attempts: attempt,
        canvasMessages: canvasMessagesOf(data),
      };
      const describe = (code: string) => {
        const messages = details.canvasMessages?.length ? `: ${details.canvasMessages.join("; ")}` : "";
        return `Canvas ${method} ${base.path} answered ${status} (${code})${messages}`;
      };

      if (throttled) {
        if (throttles > rateLimitRetries) {
          throw new CanvasRateLimitError(describe("RATE_LIMITED"), details);
        }
        const delayMs = this.options.pacing.enabled ? 0 : throttleBackoffMs;
        this.logger.warn(
          { method, path: logPath, status, attempt, remaining, throttles, delayMs },
          "Canvas throttled the request (rate limit); backing off",
        );
        await sleep(delayMs, signal);
        continue;
      }

      if (status === 401) {
        if (header(headers, "www-authenticate") === undefined) {
          // Older Canvas / insufficient scopes: a permission problem, which a refresh cannot fix.
          throw new CanvasForbiddenError(describe("CANVAS_FORBIDDEN"), details);
        }
        if (refreshed) {
          throw new CanvasUnauthorizedError(
            `${describe("REAUTH_REQUIRED")} (again, after the token provider supplied a fresh token)`,
            details,
          );
        }
        refreshed = true;
        this.logger.info(
          { method, path: logPath, status, attempt },
          "Canvas rejected the access token; asking the token provider for a fresh one",
        );
        const next = await raceAbort(this.refreshFor(token), signal);
        if (next === token) {
          throw new CanvasUnauthorizedError(
            `${describe("REAUTH_REQUIRED")} (the token provider returned the rejected token)`,
            details,
          );
        }
        freshToken = next;
        continue;
      }
      if (status === 403) throw new CanvasForbiddenError(describe("CANVAS_FORBIDDEN"), details);
      if (status === 404) throw new CanvasNotFoundError(describe("CANVAS_NOT_FOUND"), details);
      if (status === 400 || status === 422)
        throw new CanvasBadRequestError(describe("CANVAS_BAD_REQUEST"), details);
      if (status >= 500) {
        if (idempotent && transient < retries) {
          transient++;
          this.counters.retries++;
          const retryAfter = parseRetryAfter(header(headers, "retry-after"));
          const delayMs = Math.max(
            backoffDelay(transient, minDelayMs, maxDelayMs),
            Math.min(retryAfter ?? 0, maxDelayMs),
          );
          this.logger.warn(
            { method, path: logPath, status, attempt, delayMs },
            "Canvas server error; retrying",
          );
          await sleep(delayMs, signal);
          continue;
        }
        throw new CanvasServerError(describe("UPSTREAM_UNAVAILABLE"), {
          ...details,
          maybeApplied: !idempotent,
        });
      }
      throw new CanvasApiError(CANVAS_API_ERROR, describe(CANVAS_API_ERROR), details);
    }
  }
}
