import type { Clock } from "@easel/clock";
import type { TokenStore } from "./store.js";

/** What every `store-*` package's `createTokenStore(uri, options)` accepts. */
export interface StoreFactoryOptions {
  /**
   * The value of `EASEL_FERNET_KEY`: comma-separated url-safe base64 Fernet keys. The first
   * encrypts, every key decrypts (rotation). Stores that encrypt require it.
   */
  fernetKeys?: string;
  /**
   * Where backend credentials are read from (`VAULT_TOKEN`, `VAULT_ROLE_ID`, ...).
   * @default process.env
   */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * Where the store reads the time and waits: lock ttls, lock waits and retry backoff. Tests pass
   * a `ManualClock`; every process sharing locks must use clocks that agree (NTP).
   * @default systemClock
   */
  clock?: Clock;
}

/**
 * The one factory signature every adapter exports as `createTokenStore`, as every
 * `@keyv/<backend>` exports `createKeyv`. `@easel/config` maps URI schemes to these.
 */
export type TokenStoreFactory = (uri: string, options?: StoreFactoryOptions) => Promise<TokenStore>;
