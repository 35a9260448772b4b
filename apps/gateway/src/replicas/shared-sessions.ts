import type { SessionBackend } from "../sessions.js";
import type { SharedBackend } from "./shared-backend.js";

/**
 * Sessions and pending logins in the replicas' Redis (Fernet-encrypted, under digests of their
 * ids, with Redis expiring them). A login begun on one replica completes on another; a logout on
 * one ends the session on all. Rejects with `SharedCacheUnavailableError` when Redis is away.
 */
export function sharedSessionBackend(backend: SharedBackend): SessionBackend {
  const key = (kind: string, id: string) => `${kind}:${id}`;
  return {
    get: (kind, id) => backend.getJson(key(kind, id)),
    set: (kind, id, value, ttlMs) => backend.setJson(key(kind, id), value, ttlMs),
    take: (kind, id) => backend.takeJson(key(kind, id)),
    delete: (kind, id) => backend.delete(key(kind, id)),
  };
}
