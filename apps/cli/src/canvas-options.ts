import { developerToken, isLoopbackHttpUrl, oauth, TokenManager } from "@easel/auth";
import { CanvasClient } from "@easel/canvas-client";
import { ConfigError, readEnvConfig, redactStoreUri } from "@easel/config";
import type { TokenStore } from "@easel/token-store";
import type { Command } from "commander";
import { UsageError } from "./exit-codes.js";
import { openStore, selectStore } from "./store-option.js";

type Env = Readonly<Record<string, string | undefined>>;

/** Flags of every command that talks to Canvas. */
export interface CanvasFlags {
  baseUrl?: string;
  store?: string;
  key?: string;
}

/** Adds `--base-url`, `--store` and `--key`. */
export function withCanvasOptions(command: Command): Command {
  return command
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL), e.g. https://school.instructure.com")
    .option(
      "--store <uri>",
      "token store URI (env EASEL_TOKEN_STORE; default file:~/.config/easel/tokens/); ignored when " +
        "CANVAS_ACCESS_TOKEN is set and --store is not",
    )
    .option("--key <name>", 'record key in the store (env EASEL_TOKEN_KEY; default "default")');
}

/** Text for a command's --help about where the credential comes from. */
export const CANVAS_AUTH_HELP = `
Credentials (first match wins):
  --store URI            a stored record (developer token or OAuth with refresh) under --key
  CANVAS_ACCESS_TOKEN    a developer (personal access) token, used as is
  EASEL_TOKEN_STORE      as --store; default file:~/.config/easel/tokens/
  Stores other than memory: need EASEL_FERNET_KEY. OAuth records refresh with
  CANVAS_CLIENT_ID / CANVAS_CLIENT_SECRET; one refresh per expiry for the whole fleet.`;

export interface CanvasConnection {
  client: CanvasClient;
  /** Where the credential came from, for messages (never a secret). */
  source: string;
  /** The flags that select the same credential again (for a printed resume command). */
  flags: string[];
  /** What to do when Canvas wants a new authorization, e.g. "easel login --key nightly". */
  remedy: string;
  close(): Promise<void>;
}

export interface ConnectOptions {
  env?: Env;
  /** Requests in flight at most. @default 8 */
  maxConcurrency?: number;
}

function envConfig(env: Env) {
  try {
    return readEnvConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

/**
 * Builds a `CanvasClient` from flags and environment: a developer token from
 * `CANVAS_ACCESS_TOKEN`, or a `TokenManager` over the token store (OAuth records refresh).
 */
export async function connectCanvas(
  flags: CanvasFlags,
  options: ConnectOptions = {},
): Promise<CanvasConnection> {
  const env = options.env ?? process.env;
  const config = envConfig(env);
  const baseUrl = flags.baseUrl ?? config.canvasBaseUrl;
  if (!baseUrl) throw new UsageError("--base-url or CANVAS_BASE_URL is required.");
  const replay: string[] = flags.baseUrl ? ["--base-url", flags.baseUrl] : [];
  const clientOptions = { baseUrl, maxConcurrency: options.maxConcurrency ?? 8 };
  const build = (auth: ConstructorParameters<typeof CanvasClient>[0]["auth"]) => {
    try {
      return new CanvasClient({ ...clientOptions, auth });
    } catch (error) {
      if (error instanceof TypeError) throw new UsageError(error.message, { cause: error });
      throw error;
    }
  };

  if (!flags.store && config.canvasAccessToken) {
    const client = build(config.canvasAccessToken);
    return {
      client,
      source: "CANVAS_ACCESS_TOKEN",
      flags: replay,
      remedy: "create a new access token in Canvas (Account > Settings) and set CANVAS_ACCESS_TOKEN to it",
      close: () => client.close(),
    };
  }

  const { uri, key } = selectStore(flags, env);
  const store: TokenStore = await openStore(uri, env);
  try {
    const record = await store.get(key);
    const insecure = isLoopbackHttpUrl(baseUrl);
    const hasRefreshToken = typeof record?.refresh_token === "string" && record.refresh_token !== "";
    const clientId = config.oauthClient?.clientId;
    if (hasRefreshToken && !clientId) {
      throw new UsageError(
        `The stored record "${key}" is an OAuth token: set CANVAS_CLIENT_ID (and CANVAS_CLIENT_SECRET) so it can be refreshed.`,
      );
    }
    const strategy = hasRefreshToken
      ? oauth({
          baseUrl,
          clientId: clientId!,
          clientSecret: config.oauthClient?.clientSecret,
          dangerouslyAllowInsecureHttp: insecure,
        })
      : developerToken({ baseUrl, dangerouslyAllowInsecureHttp: insecure });
    const manager = new TokenManager(strategy, store, { key });
    const client = build(manager);
    if (flags.store) replay.push("--store", redactStoreUri(flags.store));
    if (flags.key) replay.push("--key", flags.key);
    return {
      client,
      source: `${redactStoreUri(uri)} (key ${key})`,
      flags: replay,
      remedy: `run \`${manager.remedy}${flags.store ? ` --store ${redactStoreUri(flags.store)}` : ""}\``,
      close: async () => {
        await client.close();
        await store.close();
      },
    };
  } catch (error) {
    await store.close().catch(() => {});
    if (error instanceof TypeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}
