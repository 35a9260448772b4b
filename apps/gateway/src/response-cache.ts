import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import type { GatewayMetrics } from "./metrics.js";

/**
 * The response cache: whole GraphQL answers (the JSON bytes sent), per credential scope, document
 * and variables, for the list cache's TTL. Answers with errors are never stored, and nothing but
 * queries whose root fields read only list-cached Canvas data (`course`, `courses`). An answer
 * expires with the earliest-expiring list it was made of: a repeat is never older than a list.
 *
 * Invalidation needs no key scan: every key carries the generation of its scope and the global
 * generation; a mutation bumps the global one (a write changes everyone's view of the course, as
 * the list cache drops the course for every credential), a new login or logout bumps the user's.
 * Entries of older generations are never read again and age out.
 */

/** What is stored per answer: the bytes as they were sent, with their media type. */
export interface StoredResponse {
  body: string;
  contentType: string;
}

type MaybePromise<T> = T | Promise<T>;

/**
 * Where answers live. The default keeps them in this process (`MemoryResponseStore`); a shared
 * store (Redis through keyv) lets replicas answer each other's repeats. `generation` of a scope
 * never seen is 0; `bump` makes it larger than ever before (so a store that lost it cannot
 * resurrect entries of an older one, it must keep generations at least as long as entries).
 */
export interface ResponseStore {
  get(key: string): MaybePromise<StoredResponse | undefined>;
  set(key: string, value: StoredResponse, ttlMs: number): MaybePromise<void>;
  generation(scope: string): MaybePromise<number>;
  bump(scope: string): MaybePromise<void>;
}

/** Every scope's entries: bumped by writes (mutations, finished grade jobs). */
export const EVERY_SCOPE = "*";

/** In-process answers, least recently used out beyond `maxBytes`, on an injected clock. */
export class MemoryResponseStore implements ResponseStore {
  readonly #entries = new Map<string, { value: StoredResponse; expiresAt: number; bytes: number }>();
  readonly #generations = new Map<string, number>();
  readonly #maxBytes: number;
  readonly #now: () => number;
  #bytes = 0;
  #counter = 0;

  constructor(options: { maxBytes: number; now: () => number }) {
    this.#maxBytes = options.maxBytes;
    this.#now = options.now;
  }

  get stats(): { entries: number; bytes: number } {
    return { entries: this.#entries.size, bytes: this.#bytes };
  }

  get(key: string): StoredResponse | undefined {
    const entry = this.#entries.get(key);
    if (!entry) return undefined;
    if (entry.expiresAt <= this.#now()) {
      this.#drop(key, entry.bytes);
      return undefined;
    }
    // Re-inserting keeps the Map's first key the least recently used.
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: StoredResponse, ttlMs: number): void {
    // UTF-16 length: a bound on memory, not an exact count of bytes.
    const bytes = (key.length + value.body.length + value.contentType.length) * 2;
    if (ttlMs <= 0 || bytes > this.#maxBytes) return;
    const old = this.#entries.get(key);
    if (old) this.#drop(key, old.bytes);
    this.#entries.set(key, { value, expiresAt: this.#now() + ttlMs, bytes });
    this.#bytes += bytes;
    const now = this.#now();
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.#maxBytes && entry.expiresAt > now) break;
      this.#drop(oldest, entry.bytes);
    }
  }

  generation(scope: string): number {
    return this.#generations.get(scope) ?? 0;
  }

  bump(scope: string): void {
    // One counter for every scope: a generation is never reused, whatever was dropped.
    this.#generations.set(scope, ++this.#counter);
  }

  #drop(key: string, bytes: number): void {
    this.#entries.delete(key);
    this.#bytes -= bytes;
  }
}

/** The GraphQL request parameters the answer depends on (with the scope and `Accept`). */
export interface CacheableParams {
  query?: string | undefined;
  operationName?: string | undefined | null;
  variables?: unknown;
  extensions?: unknown;
}

const then = <T, R>(value: MaybePromise<T>, next: (value: T) => MaybePromise<R>): MaybePromise<R> =>
  value instanceof Promise ? value.then(next) : next(value);

/** Root fields whose whole answer comes from list-cached Canvas reads (or from nothing). */
const CACHEABLE_ROOT_FIELDS = new Set(["course", "courses", "__typename"]);

export class ResponseCache {
  readonly store: ResponseStore;
  readonly ttlMs: number;

  constructor(store: ResponseStore, ttlMs: number) {
    this.store = store;
    this.ttlMs = ttlMs;
  }

  /**
   * The key of an answer: scope, both generations, `Accept` (it picks the media type), and a
   * digest of the parameters (a document may be large; the digest bounds the key).
   */
  key(scope: string, accept: string | null, params: CacheableParams): MaybePromise<string> {
    const digest = createHash("sha256")
      .update(
        JSON.stringify([
          accept ?? "",
          params.query ?? null,
          params.operationName ?? null,
          params.variables ?? null,
          params.extensions ?? null,
        ]),
      )
      .digest("base64url");
    return then(this.store.generation(scope), (own) =>
      then(this.store.generation(EVERY_SCOPE), (every) => `${scope}\n${own}\n${every}\n${digest}`),
    );
  }

  /** A user logged in again or out: their stored answers are not served again. */
  invalidateScope(scope: string): MaybePromise<void> {
    return this.store.bump(scope);
  }

  /** A write went through (or a grade job finished): nobody's stored answers are served again. */
  invalidateAll(): MaybePromise<void> {
    return this.store.bump(EVERY_SCOPE);
  }

  static cacheableRootFields(names: Iterable<string>): boolean {
    for (const name of names) if (!CACHEABLE_ROOT_FIELDS.has(name)) return false;
    return true;
  }
}

/** What the response cache notes on a request's GraphQL context. */
export interface ResponseCacheNote {
  /** Set before execution (from the parameters): where the answer goes. */
  key?: string | undefined;
  /** Set by the planner: the operation is a query reading only list-cached data. */
  cacheable?: boolean;
  /** The answer's bytes, once execution gave one worth storing. */
  body?: string;
  /** When the lookup was made (the TTL's clock): the stored answer expires one TTL after. */
  startedAt?: number;
}

const notes = new WeakMap<Request, ResponseCacheNote>();

/** The response cache's note on `request` (the planner marks what it walked as cacheable). */
export function responseCacheNote(request: Request): ResponseCacheNote {
  let note = notes.get(request);
  if (!note) {
    note = {};
    notes.set(request, note);
  }
  return note;
}

/** `Cache-Control: no-cache`: skip stored answers (and lists), and store the fresh answer. */
export function wantsRefresh(header: string | null | undefined): boolean {
  return header != null && /(?:^|,)\s*no-cache\s*(?:,|$)/i.test(header);
}

/**
 * The Yoga side: after authentication (`onParams` runs after every `onRequest`), a stored answer
 * for this scope and these parameters ends the request before parsing; otherwise a clean answer
 * of a cacheable query is stored when it is sent (with the media type Yoga chose).
 */
export function useResponseCache(
  cache: ResponseCache,
  scopeOf: (request: Request) => string | undefined,
  metrics: GatewayMetrics,
  freshness: {
    /** The TTL's clock (the list cache's). */
    now: () => number;
    /** When the earliest-expiring list the request read from the list cache expires, if any. */
    listsExpireAt: (request: Request) => number | undefined;
  },
): Plugin {
  return {
    onParams({ request, params, setResult }) {
      if (request.method !== "POST" && request.method !== "GET") return undefined;
      const scope = scopeOf(request);
      if (scope === undefined) return undefined;
      const note = responseCacheNote(request);
      note.startedAt = freshness.now();
      const refresh = wantsRefresh(request.headers.get("cache-control"));
      let looked: MaybePromise<string>;
      try {
        looked = cache.key(scope, request.headers.get("accept"), params);
      } catch {
        // Parameters JSON cannot write back (variables nested too deep): Yoga answers them.
        return undefined;
      }
      return then(looked, (key) => {
        note.key = key;
        if (refresh) {
          metrics.responseCacheLookups.inc({ result: "refresh" });
          return undefined;
        }
        return then(cache.store.get(key), (stored) => {
          if (!stored) {
            metrics.responseCacheLookups.inc({ result: "miss" });
            return undefined;
          }
          metrics.responseCacheLookups.inc({ result: "hit" });
          // Not stored again: the stored answer is the one being sent.
          note.key = undefined;
          setResult(JSON.parse(stored.body) as ExecutionResult);
          return undefined;
        });
      });
    },
    onExecutionResult({ request, result }) {
      const note = notes.get(request);
      if (!note?.key || !note.cacheable) return;
      if (Symbol.asyncIterator in (result as object)) return;
      const single = result as ExecutionResult;
      if (single.errors?.length || !single.data || single.extensions) return;
      const body = JSON.stringify(single);
      note.body = body;
      // Yoga serialises a result with its `stringify` when it has one (graphql-yoga's
      // result-processor/stringify.js): the bytes just made are sent as they are, not made twice.
      // Only for this very result: one a later plugin replaced or extended is serialised afresh.
      (single as ExecutionResult & { stringify?: (r: unknown) => string }).stringify = (r) =>
        r === single && !single.errors && !single.extensions ? body : JSON.stringify(r);
    },
    onResponse({ request, response }) {
      const note = notes.get(request);
      if (!note?.key || note.body === undefined || response.status !== 200) return undefined;
      const contentType = response.headers.get("content-type");
      if (!contentType) return undefined;
      // One TTL from the request's start (lists it fetched are younger), and no longer than the
      // earliest-expiring list it read from the list cache: a repeat is never older than a list.
      const now = freshness.now();
      const ttlMs = Math.min(
        cache.ttlMs - (now - (note.startedAt ?? now)),
        (freshness.listsExpireAt(request) ?? Number.POSITIVE_INFINITY) - now,
      );
      return then(cache.store.set(note.key, { body: note.body, contentType }, ttlMs), () => undefined);
    },
  };
}

/**
 * The node:http side, for service mode: a repeat is answered from stored bytes before Yoga sees
 * the request (no Fetch `Request`, no plugin chain, no parse), which is what makes a repeat cost
 * less than Yoga's own floor (`{ __typename }`). Anything else is handed to Yoga with the body
 * already read (`req.body`, which @whatwg-node/server takes as the request body).
 */
export function responseCacheHandler(options: {
  cache: ResponseCache;
  endpoint: string;
  maxBodyBytes: number;
  /** The scope of the credential the request presents, or undefined (Yoga answers it: 401). */
  scopeOf: (req: IncomingMessage) => string | undefined;
  metrics: GatewayMetrics;
  log: Logger;
  next: (req: IncomingMessage, res: ServerResponse) => void;
}): (req: IncomingMessage, res: ServerResponse) => void {
  const { cache, endpoint, maxBodyBytes, scopeOf, metrics, log, next } = options;
  const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;
  return (req, res) => {
    const url = req.url ?? "";
    const path = url.indexOf("?") === -1 ? url : url.slice(0, url.indexOf("?"));
    const contentType = req.headers["content-type"] ?? "";
    if (
      req.method !== "POST" ||
      path !== endpoint ||
      // Browsers' requests go through Yoga: CORS and the CSRF guard decide there.
      req.headers.origin !== undefined ||
      !contentType.startsWith("application/json") ||
      wantsRefresh(req.headers["cache-control"])
    ) {
      next(req, res);
      return;
    }
    const started = performance.now();
    const chunks: Buffer[] = [];
    let size = 0;
    const declared = Number(req.headers["content-length"] ?? Number.NaN);
    if (declared > maxBodyBytes) {
      next(req, res);
      return;
    }
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      chunks.push(chunk);
    });
    req.once("error", () => res.destroy());
    req.once("end", () => {
      const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
      // Yoga reads this instead of the (consumed) stream: see normalizeNodeRequest.
      (req as IncomingMessage & { body?: Uint8Array }).body = body;
      const scope = size <= maxBodyBytes ? scopeOf(req) : undefined;
      if (scope === undefined) {
        next(req, res);
        return;
      }
      let params: CacheableParams;
      try {
        params = JSON.parse(body.toString("utf8")) as CacheableParams;
      } catch {
        next(req, res);
        return;
      }
      if (typeof params !== "object" || params === null || Array.isArray(params)) {
        next(req, res);
        return;
      }
      const accept = req.headers.accept ?? null;
      const serve = (stored: StoredResponse | undefined) => {
        if (!stored) {
          // Yoga's plugin looks it up again and stores the answer: a miss costs one more get.
          next(req, res);
          return;
        }
        const incoming = req.headers["x-request-id"];
        const requestId =
          typeof incoming === "string" && requestIdPattern.test(incoming) ? incoming : crypto.randomUUID();
        res.writeHead(200, {
          "content-type": stored.contentType,
          "content-length": Buffer.byteLength(stored.body),
          "x-request-id": requestId,
        });
        res.end(stored.body);
        metrics.responseCacheLookups.inc({ result: "hit" });
        metrics.httpRequests.inc({ method: "POST", route: endpoint, status: "200" });
        const durationMs = performance.now() - started;
        metrics.httpDuration.observe({ method: "POST", route: endpoint }, durationMs / 1000);
        log.info(
          { requestId, method: "POST", path, status: 200, durationMs: Math.round(durationMs), cached: true },
          "request",
        );
      };
      try {
        const looked = then(cache.key(scope, accept, params), (key) => cache.store.get(key));
        if (looked instanceof Promise) looked.then(serve, () => next(req, res));
        else serve(looked);
      } catch {
        next(req, res);
      }
    });
  };
}
