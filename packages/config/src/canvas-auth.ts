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
  const given = flags.baseUrl ?? env.canvasBaseUrl;
  if (!given) {
    throw new ConfigError(CONFIG_INVALID, "--base-url or CANVAS_BASE_URL is required.", {
      setting: "CANVAS_BASE_URL",
    });
  }
  const baseUrl = canvasRootUrl(given, flags.baseUrl ? "--base-url" : "CANVAS_BASE_URL");
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
 * The Canvas root a user meant: trailing slashes and a pasted `/api/v1` are dropped (every client
 * adds `/api/v1` itself, so keeping it would request `/api/v1/api/v1/...`). Anything else that
 * cannot be a Canvas root is refused with the fix, before any request: not http(s), a query or
 * fragment, credentials in the URL, or plain `http://` to a host other than this machine (a real
 * Canvas is only ever reached over TLS; `http://` is for the simulator).
 *
 * @throws ConfigError (`CONFIG_INVALID`, `setting`) naming the flag or variable and what to use.
 */
export function canvasRootUrl(value: string, setting = "CANVAS_BASE_URL"): string {
  const refuse = (why: string) =>
    new ConfigError(CONFIG_INVALID, `${setting} ${why}`, { setting: "CANVAS_BASE_URL" });
  let url: URL;
  try {
    url = new URL(value.trim());
  } catch {
    throw refuse("must be an absolute URL such as https://school.instructure.com.");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw refuse(`must be an https:// URL such as https://school.instructure.com (got ${url.protocol}//).`);
  }
  if (url.username || url.password) throw refuse("must not carry a user name or password.");
  if (url.search || url.hash) {
    throw refuse(`must be Canvas's root URL, without a query or fragment: use ${url.origin}${url.pathname}.`);
  }
  const path = url.pathname
    .replace(/\/+$/, "")
    .replace(/\/api\/v1$/i, "")
    .replace(/\/+$/, "");
  const root = `${url.origin}${path}`;
  if (url.protocol === "http:" && !isLoopbackHttpUrl(root)) {
    throw refuse(
      `uses plain http:// for ${url.host}, which would send the token unencrypted: use https://${url.host}${path}. ` +
        "(http:// is accepted only for this machine, e.g. the simulator.)",
    );
  }
  return root;
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
