import {
  type AuthLogger,
  type AuthStrategy,
  developerToken,
  isLoopbackHttpUrl,
  type OAuthStrategy,
  oauth,
} from "@easel/auth";
import type { TokenRecord } from "@easel/token-store";
import type { EaselEnvConfig } from "./env.js";
import { CONFIG_INVALID, ConfigError } from "./errors.js";

/** Command-line flags that take precedence over the environment's Canvas settings. */
export interface CanvasAuthFlags {
  /** `--base-url`, over `CANVAS_BASE_URL`. */
  baseUrl?: string | undefined;
  /** `--client-id`, over `CANVAS_CLIENT_ID`. */
  clientId?: string | undefined;
  /** `--client-secret`, over `CANVAS_CLIENT_SECRET`. */
  clientSecret?: string | undefined;
  /** `--redirect-uri`, over `CANVAS_REDIRECT_URI`. */
  redirectUri?: string | undefined;
  /** `--store`: a store named on the command line wins over `CANVAS_ACCESS_TOKEN`. */
  store?: string | undefined;
}

/** The Canvas developer key (OAuth client) Easel refreshes and logs in with. */
export interface OAuthClientSettings {
  clientId: string;
  clientSecret: string | undefined;
  redirectUri: string | undefined;
}

/** Everything that decides how Easel authenticates to one Canvas. Holds secrets: never print it. */
export interface CanvasAuthSettings {
  /** Canvas root URL. */
  baseUrl: string;
  /** `CANVAS_ACCESS_TOKEN`, unless `--store` named a store instead. */
  accessToken: string | undefined;
  /** The developer key, when a client id is configured. */
  oauthClient: OAuthClientSettings | undefined;
}

/** Where the Canvas credential comes from. */
export type CredentialSource =
  /** A developer token from the environment, used as is (nothing to refresh or store). */
  | { kind: "access-token"; token: string }
  /** A record in the token store, kept alive by a `TokenManager`. */
  | { kind: "store" };

/**
 * The environment's Canvas settings with the command line's flags on top. The one place that
 * says which flag beats which variable.
 *
 * @throws ConfigError (`CONFIG_INVALID`, `setting: "CANVAS_BASE_URL"`) when no base URL is given.
 */
export function canvasAuthSettings(env: EaselEnvConfig, flags: CanvasAuthFlags = {}): CanvasAuthSettings {
  const baseUrl = flags.baseUrl ?? env.canvasBaseUrl;
  if (!baseUrl) {
    throw new ConfigError(CONFIG_INVALID, "--base-url or CANVAS_BASE_URL is required.", {
      setting: "CANVAS_BASE_URL",
    });
  }
  const clientId = flags.clientId ?? env.oauthClient?.clientId;
  return {
    baseUrl,
    accessToken: flags.store ? undefined : env.canvasAccessToken,
    oauthClient: clientId
      ? {
          clientId,
          clientSecret: flags.clientSecret ?? env.oauthClient?.clientSecret,
          redirectUri: flags.redirectUri ?? env.oauthClient?.redirectUri,
        }
      : undefined,
  };
}

/**
 * Which credential a command uses: `CANVAS_ACCESS_TOKEN` as is when it is set (and `--store` is
 * not), else the record in the token store.
 */
export function credentialSource(settings: CanvasAuthSettings): CredentialSource {
  return settings.accessToken ? { kind: "access-token", token: settings.accessToken } : { kind: "store" };
}

/** Options of {@link strategyForRecord}. */
export interface RecordStrategyOptions {
  /** The record's key, for messages. */
  key: string;
  /**
   * `auto`: the record decides (a refresh token means OAuth). `developer-token`: the command only
   * makes sense for one (`easel token rotate`).
   * @default "auto"
   */
  kind?: "auto" | "developer-token" | undefined;
  /** Receives the strategy's warnings (a developer token's coming expiry). */
  logger?: AuthLogger | undefined;
}

/**
 * The strategy that keeps a stored record alive. A record with a refresh token is OAuth and is
 * refreshed with the configured developer key; one without (or no record yet) is a developer
 * token. Plain `http://` is allowed only for a loopback Canvas (the simulator).
 *
 * @throws ConfigError (`setting: "CANVAS_CLIENT_ID"`) for an OAuth record without a client id.
 */
export function strategyForRecord(
  settings: CanvasAuthSettings,
  record: TokenRecord | undefined,
  options: RecordStrategyOptions,
): AuthStrategy {
  const { baseUrl } = settings;
  const dangerouslyAllowInsecureHttp = isLoopbackHttpUrl(baseUrl);
  const hasRefreshToken = typeof record?.refresh_token === "string" && record.refresh_token !== "";
  if (options.kind === "developer-token" || !hasRefreshToken) {
    return developerToken({ baseUrl, logger: options.logger, dangerouslyAllowInsecureHttp });
  }
  const client = settings.oauthClient;
  if (!client) {
    throw new ConfigError(
      CONFIG_INVALID,
      `The stored record "${options.key}" is an OAuth token: set CANVAS_CLIENT_ID (and CANVAS_CLIENT_SECRET) so it can be refreshed.`,
      { setting: "CANVAS_CLIENT_ID" },
    );
  }
  return oauth({
    baseUrl,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    dangerouslyAllowInsecureHttp,
  });
}

/** Options of {@link oauthStrategy}. */
export interface LoginStrategyOptions {
  /** Where Canvas sends the browser back. @default the developer key's `redirectUri` */
  redirectUri?: string | undefined;
  scopes?: readonly string[] | undefined;
  /** Shown by Canvas on the consent page and in the user's approved integrations. */
  purpose?: string | undefined;
  /**
   * Allows plain `http://` to Canvas (refused by `@easel/auth` for anything but a loopback host).
   * @default true exactly when the base URL is a loopback `http://` URL (the simulator)
   */
  dangerouslyAllowInsecureHttp?: boolean | undefined;
}

/**
 * The OAuth strategy that logs people in with the configured developer key (`easel login`, the
 * gateway's user mode).
 *
 * @throws ConfigError (`setting: "CANVAS_CLIENT_ID"`) when no client id is configured.
 */
export function oauthStrategy(
  settings: CanvasAuthSettings,
  options: LoginStrategyOptions = {},
): OAuthStrategy {
  const client = requireOAuthClient(settings);
  return oauth({
    baseUrl: settings.baseUrl,
    clientId: client.clientId,
    clientSecret: client.clientSecret,
    redirectUri: options.redirectUri ?? client.redirectUri,
    scopes: options.scopes,
    purpose: options.purpose,
    dangerouslyAllowInsecureHttp: options.dangerouslyAllowInsecureHttp ?? isLoopbackHttpUrl(settings.baseUrl),
  });
}

/**
 * The configured developer key, or a ConfigError saying how to configure one (checked before a
 * login starts, so nobody goes through consent for nothing).
 */
export function requireOAuthClient(settings: CanvasAuthSettings): OAuthClientSettings {
  if (!settings.oauthClient) {
    throw new ConfigError(CONFIG_INVALID, "--client-id or CANVAS_CLIENT_ID is required.", {
      setting: "CANVAS_CLIENT_ID",
    });
  }
  return settings.oauthClient;
}
