import type { TokenStore } from "@easel/token-store";
import type { ManagedCredential } from "./credentials.js";
import type { GatewayMetrics } from "./metrics.js";

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
  metrics.observeTokenExpiry(async () => {
    const record = await source.store.get(source.key);
    if (typeof record?.expires_at !== "number") return [];
    return [{ key: source.key, seconds: Math.round(record.expires_at - now() / 1000) }];
  });
}
