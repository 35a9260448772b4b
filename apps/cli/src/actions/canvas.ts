import { type AuthLogger, TokenManager } from "@easel/auth";
import { CanvasClient, type CanvasLogger, type RateLimitBudget } from "@easel/canvas-client";
import { canvasAuthSettings, credentialSource, strategyForRecord } from "@easel/config";
import type { TokenStore } from "@easel/token-store";
import type { CanvasFlags } from "../canvas-options.js";
import { shellQuote } from "../course-options.js";
import { CliExit, EXIT_REAUTH } from "../exit-codes.js";
import { type Env, openCredentialStore, readEnv, redactStoreUri, selectStore, usage } from "./config.js";
import { bareTokenExpiryWarning, expiryWarning, expiryWarningDays } from "./expiry.js";

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
  /** Where the once-per-run expiry warning goes. @default process.stderr */
  stderr?: NodeJS.WritableStream;
  /**
   * A Redis URL: pace on a rate-limit budget kept there, shared with every other process using the
   * same credential (Canvas's bucket is per token). @default undefined (this process's view only)
   */
  sharedPacing?: string;
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
  const settings = usage(() => canvasAuthSettings(readEnv(env), flags));
  const { baseUrl } = settings;
  const replay: string[] = flags.baseUrl ? ["--base-url", flags.baseUrl] : [];
  const stderr = options.stderr ?? process.stderr;
  let budget: (RateLimitBudget & { close(): Promise<void> }) | undefined;
  const build = async (auth: ConstructorParameters<typeof CanvasClient>[0]["auth"], identity: string) => {
    if (options.sharedPacing) budget = await sharedBudget(options.sharedPacing, `${baseUrl}\n${identity}`);
    return usage(
      () =>
        new CanvasClient({
          baseUrl,
          maxConcurrency: options.maxConcurrency ?? 8,
          auth,
          ...(budget ? { pacing: { budget }, logger: budgetWarningsTo(stderr) } : {}),
        }),
    );
  };
  const closeBudget = async () => {
    await budget?.close();
  };

  const source = credentialSource(settings);
  if (source.kind === "access-token") {
    const client = await build(source.token, `token:${source.token}`);
    const days = expiryWarningDays(flags.expiryWarningDays, env);
    const warning = await bareTokenExpiryWarning(source.token, baseUrl, days);
    if (warning) (options.stderr ?? process.stderr).write(`easel: warning: ${warning}\n`);
    return {
      client,
      source: "CANVAS_ACCESS_TOKEN",
      flags: replay,
      remedy: "create a new access token in Canvas (Account > Settings) and set CANVAS_ACCESS_TOKEN to it",
      close: async () => {
        await client.close();
        await closeBudget();
      },
    };
  }

  const { uri, key } = selectStore(flags, env);
  const store: TokenStore = await openCredentialStore(uri, env);
  try {
    const record = await store.get(key);
    // Said before any request: with no record, Canvas would only be asked to refuse an empty token.
    if (!record) {
      throw new CliExit(
        EXIT_REAUTH,
        `no token record ${key} in ${redactStoreUri(uri)}: run \`easel login\` or \`easel token import\`` +
          " (or set CANVAS_ACCESS_TOKEN to a personal access token).",
      );
    }
    const warning = expiryWarning(record, expiryWarningDays(flags.expiryWarningDays, env), `"${key}"`);
    if (warning) (options.stderr ?? process.stderr).write(`easel: warning: ${warning}\n`);
    const strategy = usage(() => strategyForRecord(settings, record, { key }));
    const manager = usage(
      () =>
        new TokenManager(strategy, store, {
          key,
          bufferSeconds: flags.refreshBuffer,
          logger: warningsTo(options.stderr ?? process.stderr),
        }),
    );
    // The grant's refresh token outlives each access token; a record without one is its key.
    const client = await build(
      manager,
      record.refresh_token ? `refresh:${record.refresh_token}` : `key:${key}`,
    );
    const selection: string[] = [];
    if (flags.store) selection.push("--store", redactStoreUri(flags.store));
    if (flags.key) selection.push("--key", flags.key);
    replay.push(...selection);
    return {
      client,
      source: `${redactStoreUri(uri)} (key ${key})`,
      flags: replay,
      remedy: `run \`${[manager.remedy, ...selection.map(shellQuote)].join(" ")}\``,
      close: async () => {
        await client.close();
        await closeBudget();
        await store.close();
      },
    };
  } catch (error) {
    await closeBudget().catch(() => {});
    await store.close().catch(() => {});
    throw error;
  }
}

/**
 * The budget shared by every process on the credential, in Redis. Keyed by a hash of `identity`
 * (base URL and token or grant), so Redis never holds the token and other credentials never share.
 */
async function sharedBudget(
  url: string,
  identity: string,
): Promise<RateLimitBudget & { close(): Promise<void> }> {
  const { RedisRateLimitBudget } = await import("@easel/rate-limit-redis");
  return usage(() => new RedisRateLimitBudget({ url, identity }));
}

/** The pacer's shared-budget notices (unreachable, back) as one stderr line each. */
function budgetWarningsTo(stderr: NodeJS.WritableStream): CanvasLogger {
  const ignore = () => {};
  const write = (fields: Record<string, unknown>, message?: string) => {
    if (typeof fields.code === "string" && fields.code.startsWith("RATE_LIMIT_BUDGET")) {
      stderr.write(`easel: warning: ${message}\n`);
    }
  };
  return { debug: ignore, info: write, warn: write, error: ignore };
}

/** The token manager's warnings (store unreachable, refresh retried) as one stderr line each. */
function warningsTo(stderr: NodeJS.WritableStream): AuthLogger {
  const ignore = () => {};
  return {
    debug: ignore,
    info: ignore,
    warn: (_fields, message) => stderr.write(`easel: warning: ${message}\n`),
    error: ignore,
  };
}
