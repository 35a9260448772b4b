import type { StoreFactoryOptions, TokenStore, TokenStoreFactory } from "@easel/token-store";
import { ConfigError, INVALID_STORE_URI } from "./errors.js";

/** The store URI forms Easel accepts, as shown to a user who typed something else. */
export const STORE_URI_FORMS = [
  "memory:",
  "file:PATH                       one record in one file (Python-compatible cache)",
  "file:DIR/                       one file per key",
  "redis://[:password@]host:port[/db][?prefix=easel:]   (rediss:// for TLS)",
  "vault+http(s)://host:port/MOUNT/PATH   (VAULT_TOKEN or VAULT_ROLE_ID/VAULT_SECRET_ID)",
] as const;

type Scheme = "memory" | "file" | "redis" | "vault";

const SCHEMES: Record<string, Scheme> = {
  "memory:": "memory",
  "file:": "file",
  "redis:": "redis",
  "rediss:": "redis",
  "vault+http:": "vault",
  "vault+https:": "vault",
};

/**
 * Adapters load lazily: a CLI reading a file store never pays for a Redis client, and a
 * backend service that installs one adapter does not need the others at runtime.
 */
const ADAPTERS: Record<Scheme, () => Promise<TokenStoreFactory>> = {
  memory: async () => {
    const { MemoryStore } = await import("@easel/token-store");
    return async () => new MemoryStore();
  },
  file: async () => (await import("@easel/store-file")).createTokenStore,
  redis: async () => (await import("@easel/store-redis")).createTokenStore,
  vault: async () => (await import("@easel/store-vault")).createTokenStore,
};

/** Replaces any password, token or secret query value in a URI so it can be shown or logged. */
export function redactStoreUri(uri: string): string {
  return uri
    .replace(/(\/\/)([^/@]*)@/, (_match, slashes: string, userinfo: string) => {
      const user = userinfo.includes(":") ? userinfo.slice(0, userinfo.indexOf(":")) : "";
      return `${slashes}${user}${user ? ":" : ""}***@`;
    })
    .replace(/([?&](?:password|token|secret|secret_id)=)[^&]*/gi, "$1***");
}

/** Which adapter a URI selects, or a ConfigError that lists the accepted forms. */
export function storeSchemeOf(uri: string): Scheme {
  const match = /^[a-z][a-z0-9+.-]*:/i.exec(uri.trim());
  const scheme = match ? SCHEMES[match[0].toLowerCase()] : undefined;
  if (!scheme) {
    throw new ConfigError(
      INVALID_STORE_URI,
      `Unknown token store URI "${redactStoreUri(uri)}". Accepted forms:\n  ${STORE_URI_FORMS.join("\n  ")}`,
      { setting: "EASEL_TOKEN_STORE" },
    );
  }
  if (scheme === "file" && uri.trim().length <= "file:".length) {
    throw new ConfigError(INVALID_STORE_URI, 'A file store URI needs a path: "file:PATH" or "file:DIR/".', {
      setting: "EASEL_TOKEN_STORE",
    });
  }
  if (scheme === "redis" || scheme === "vault") {
    try {
      const parsed = new URL(uri);
      if (!parsed.hostname) throw new TypeError("no host");
    } catch (cause) {
      throw new ConfigError(
        INVALID_STORE_URI,
        `Malformed ${scheme} store URI "${redactStoreUri(uri)}". Expected:\n  ${STORE_URI_FORMS.join("\n  ")}`,
        { setting: "EASEL_TOKEN_STORE", cause },
      );
    }
  }
  return scheme;
}

/**
 * Opens the token store a URI names (`EASEL_TOKEN_STORE`, `--store`).
 *
 * @example
 * ```ts
 * const store = await openTokenStore("redis://127.0.0.1:6379/0?prefix=easel:", {
 *   fernetKeys: process.env.EASEL_FERNET_KEY,
 * });
 * ```
 */
export async function openTokenStore(uri: string, options: StoreFactoryOptions = {}): Promise<TokenStore> {
  const scheme = storeSchemeOf(uri);
  const factory = await ADAPTERS[scheme]();
  return factory(uri.trim(), options);
}
