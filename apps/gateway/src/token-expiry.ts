import type { TokenStore } from "@easel/token-store";
import type { ManagedCredential } from "./credentials.js";
import type { GatewayMetrics } from "./metrics.js";

/** Seconds to expiry of each key's stored record (records without an expiry are left out). */
async function expiries(
  store: TokenStore,
  keys: readonly string[],
  now: () => number,
): Promise<Array<{ key: string; seconds: number }>> {
  const out: Array<{ key: string; seconds: number }> = [];
  for (const key of keys) {
    const record = await store.get(key);
    if (typeof record?.expires_at === "number") {
      out.push({ key, seconds: Math.round(record.expires_at - now() / 1000) });
    }
  }
  return out;
}

/** User mode: the same gauge for each person the gateway serves now (`user:<id>`). */
export function observeUserExpiry(
  metrics: GatewayMetrics,
  store: TokenStore,
  activeKeys: () => string[],
  now: () => number = Date.now,
): void {
  metrics.observeTokenExpiry(() => expiries(store, activeKeys(), now));
}

/**
 * Feeds `easel_gateway_token_expiry_seconds` from the stored service credential, read at each
 * scrape, so an alert fires days before a personal token expires (a bare token string or a custom
 * provider has no stored record, hence no series).
 */
export function observeStoredExpiry(
  metrics: GatewayMetrics,
  auth: unknown,
  store: TokenStore | undefined,
  storeKey: string,
  now: () => number = Date.now,
): void {
  const managed =
    typeof auth === "object" && auth !== null && "strategy" in auth ? (auth as ManagedCredential) : undefined;
  const source = managed
    ? { store: managed.store, key: managed.key ?? "default" }
    : store
      ? { store, key: storeKey }
      : undefined;
  if (!source) return;
  metrics.observeTokenExpiry(() => expiries(source.store, [source.key], now));
}
