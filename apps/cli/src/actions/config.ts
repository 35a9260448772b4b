import {
  ConfigError,
  defaultTokenStoreUri,
  type EaselEnvConfig,
  openTokenStore,
  readEnvConfig,
  redactStoreUri,
  storeSchemeOf,
} from "@easel/config";
import type { TokenStore } from "@easel/token-store";
import { UsageError } from "../exit-codes.js";

export type Env = Readonly<Record<string, string | undefined>>;

/** The flags every command that touches the token store accepts. */
export interface StoreFlags {
  store?: string;
  key?: string;
}

export interface StoreSelection {
  /** `--store`, else `EASEL_TOKEN_STORE`, else `file:$XDG_CONFIG_HOME/easel/tokens/`. */
  uri: string;
  /** `--key`, else `EASEL_TOKEN_KEY`, else `default`. */
  key: string;
}

/** The environment as @easel/config reads it; a malformed variable is a usage error (exit 2). */
export function readEnv(env: Env = process.env): EaselEnvConfig {
  try {
    return readEnvConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

export function selectStore(flags: StoreFlags, env: Env = process.env): StoreSelection {
  return {
    uri: flags.store || env.EASEL_TOKEN_STORE || defaultTokenStoreUri(env),
    key: flags.key || env.EASEL_TOKEN_KEY || "default",
  };
}

/**
 * Opens the store a URI names (through @easel/config), turning configuration mistakes into
 * usage errors (exit 2) that say how to fix them.
 */
export async function openStore(uri: string, env: Env = process.env): Promise<TokenStore> {
  try {
    const scheme = storeSchemeOf(uri);
    // File and Redis records are Fernet tokens; Vault encrypts at rest itself and memory never persists.
    const encrypts = scheme === "file" || scheme === "redis";
    const fernetKeys = encrypts ? fernetKeysOf(env) : env.EASEL_FERNET_KEY;
    if (encrypts && !fernetKeys) {
      throw new UsageError(
        `EASEL_FERNET_KEY is not set, and the token store ${redactStoreUri(uri)} encrypts records with it.\n` +
          "  Make a key with `easel key generate`, keep it somewhere safe, then:\n" +
          "  export EASEL_FERNET_KEY=<the key>",
      );
    }
    return await openTokenStore(uri, { fernetKeys, env });
  } catch (error) {
    // ConfigError: unknown scheme or malformed URI; TypeError: an adapter refused its options (bad key).
    if (error instanceof ConfigError || error instanceof TypeError) {
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * Opens the store a command takes its Canvas credential from. Without the key an encrypting store
 * needs, and without `CANVAS_ACCESS_TOKEN` (else the store would not be asked), the user has no
 * credential at all yet: the error names both ways in, not only the key.
 */
export async function openCredentialStore(uri: string, env: Env = process.env): Promise<TokenStore> {
  let encrypts = false;
  try {
    const scheme = storeSchemeOf(uri);
    encrypts = scheme === "file" || scheme === "redis";
  } catch {
    // A malformed URI: openStore says what is wrong with it.
  }
  if (encrypts && !fernetKeysOf(env)) {
    throw new UsageError(
      "No Canvas credentials. Either:\n" +
        "  - a personal access token (Canvas: Account > Settings > New access token):\n" +
        "      export CANVAS_ACCESS_TOKEN=<the token>\n" +
        "  - or OAuth: `easel login` (it keeps the token in the token store " +
        `${redactStoreUri(uri)}, encrypted with EASEL_FERNET_KEY: make one with \`easel key generate\`, ` +
        "then export EASEL_FERNET_KEY=<the key>)",
    );
  }
  return openStore(uri, env);
}

let fallbackNoticeShown = false;

/**
 * `EASEL_FERNET_KEY`, else `TOKEN_ENCRYPTION_KEY`: the Python token manager's name for the same
 * key, so both programs can share one cache. The fallback is announced once per process.
 */
export function fernetKeysOf(env: Env, stderr: NodeJS.WritableStream = process.stderr): string | undefined {
  const own = env.EASEL_FERNET_KEY?.trim();
  if (own) return own;
  const python = env.TOKEN_ENCRYPTION_KEY?.trim();
  if (!python) return undefined;
  if (!fallbackNoticeShown) {
    fallbackNoticeShown = true;
    stderr.write(
      "easel: notice: EASEL_FERNET_KEY is not set; using TOKEN_ENCRYPTION_KEY (the Python token manager's " +
        "name for the same key). Set EASEL_FERNET_KEY to silence this notice.\n",
    );
  }
  return python;
}

/**
 * Strategy and client factories throw TypeError for bad options, and @easel/config a ConfigError
 * for a missing or malformed setting: a usage problem for the CLI.
 */
export function usage<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof TypeError || error instanceof ConfigError) {
      throw new UsageError(error.message, { cause: error });
    }
    throw error;
  }
}

export { redactStoreUri };
