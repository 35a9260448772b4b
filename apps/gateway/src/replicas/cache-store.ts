import { createHash } from "node:crypto";
import { type Logger, pino } from "pino";
import type { ResponseStore, StoredResponse } from "../response-cache.js";
import { parseSharedCacheUrl, SHARED_CACHE_FORMS } from "./cache-url.js";
import { SharedBackend } from "./shared-backend.js";
import { scopeDigest } from "./shared-lists.js";

/**
 * A small cache store on the replicas' Redis: values with a TTL, and per-scope generation
 * counters (bump one to make every value computed under the old generation unreachable, on every
 * replica). For caches other than the list cache (e.g. whole responses) to share what the list
 * cache shares. Every method rejects with `SharedCacheUnavailableError` while Redis is away:
 * treat that as a miss (reads) or skip (writes).
 */
export interface SharedCacheStore {
  get<T>(key: string): Promise<T | undefined>;
  set(key: string, value: unknown, ttlMs: number): Promise<void>;
  delete(key: string): Promise<void>;
  /** The scope's current generation (0 until first bumped). */
  generation(scope: string): Promise<number>;
  bumpGeneration(scope: string): Promise<void>;
}

/** Counters outlive any value (values live at most a day in the gateway's caches). */
const GENERATION_TTL_MS = 2 * 86_400_000;

/**
 * A namespaced store on an existing backend (the gateway's own: one connection per replica).
 * Keys are hashed before they reach Redis: a key naming a user or a query leaks nothing there.
 */
export function sharedCacheStore(backend: SharedBackend, namespace: string): SharedCacheStore {
  if (!/^[\w.-]{1,40}$/.test(namespace)) {
    const error = new TypeError(
      `namespace must be 1-40 word characters; received ${JSON.stringify(namespace)}`,
    );
    (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
    throw error;
  }
  const valueKey = (key: string) => `${namespace}:v:${createHash("sha256").update(key).digest("base64url")}`;
  const counterKey = (scope: string) => `${namespace}:g:${scopeDigest(scope)}`;
  return {
    get: (key) => backend.getJson(valueKey(key)),
    set: (key, value, ttlMs) => backend.setJson(valueKey(key), value, ttlMs),
    delete: (key) => backend.delete(valueKey(key)),
    generation: async (scope) => (await backend.counters([counterKey(scope)]))[0] ?? 0,
    bumpGeneration: (scope) => backend.bump(counterKey(scope), GENERATION_TTL_MS),
  };
}

/**
 * A store with its own connection, from an `EASEL_GATEWAY_CACHE` URL: for code outside a
 * gateway (a worker warming caches, a test). Close it when done.
 *
 * @example
 * ```ts
 * const cache = createSharedCacheStore("redis://cache:6379/0?prefix=easel:gw:", {
 *   namespace: "responses",
 *   fernetKeys: process.env.EASEL_FERNET_KEY!,
 * });
 * await cache.set("k", { any: "json" }, 60_000);
 * await cache.close();
 * ```
 * @throws TypeError (`ERR_INVALID_ARG_VALUE`) for a bad URL, namespace or Fernet key list.
 */
export function createSharedCacheStore(
  url: string,
  options: { namespace: string; fernetKeys: string; logger?: Logger },
): SharedCacheStore & { close(): Promise<void> } {
  const target = parseSharedCacheUrl(url);
  if ("error" in target) {
    const error = new TypeError(
      `The shared cache URL is invalid (${target.error}); expected ${SHARED_CACHE_FORMS}.`,
    );
    (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
    throw error;
  }
  const backend = new SharedBackend({
    target,
    fernetKeys: options.fernetKeys,
    log: options.logger ?? pino({ enabled: false }),
  });
  return { ...sharedCacheStore(backend, options.namespace), close: () => backend.close() };
}

/**
 * The response cache's store on the replicas' Redis. While Redis is away it answers as an empty
 * cache that keeps nothing: a read misses (a generation it cannot read is one never used before,
 * so no key built on it is ever found), a write or an invalidation is dropped (the backend logged
 * the outage once; invalidations made then cannot reach other replicas, as for the list cache).
 */
export function sharedResponseStore(backend: SharedBackend): ResponseStore {
  const store = sharedCacheStore(backend, "responses");
  let unknownGeneration = 0;
  return {
    get: (key) => store.get<StoredResponse>(key).catch(() => undefined),
    set: (key, value, ttlMs) => store.set(key, value, ttlMs).catch(() => undefined),
    generation: (scope) => store.generation(scope).catch(() => -++unknownGeneration),
    bump: (scope) => store.bumpGeneration(scope).catch(() => undefined),
  };
}
