import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import {
  type AuthLogger,
  type AuthStrategy,
  developerToken,
  isLoopbackHttpUrl,
  type OAuthStrategy,
  oauth,
  ReauthorizationRequiredError,
  TokenManager,
  type TokenStatus,
} from "@easel/auth";
import { ConfigError, type EaselEnvConfig, readEnvConfig } from "@easel/config";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import { type Command, Option } from "commander";
import { CliExit, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { openStore, redactStoreUri, selectStore } from "../store-option.js";

/** Flags every auth command shares (values from flags win over the environment). */
interface CommonFlags {
  baseUrl?: string;
  clientId?: string;
  clientSecret?: string;
  store?: string;
  key?: string;
}

interface LoginFlags extends CommonFlags {
  redirectUri?: string;
  scopes?: string;
  purpose?: string;
  browser: boolean;
  timeout: string;
  forceLogin?: boolean;
}

/** Where the auth commands read the environment; tests pass their own. */
export interface AuthCommandContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const defaultContext = (): AuthCommandContext => ({
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});

/**
 * `easel login`, `easel logout`, and `easel token refresh|rotate|revoke`. The token
 * subcommands join the `token` command registered by `registerTokenCommands`, so call this after it.
 */
export function registerAuthCommands(program: Command, context: AuthCommandContext = defaultContext()): void {
  registerLogin(program, context);
  registerLogout(program, context);
  let token = program.commands.find((command) => command.name() === "token");
  if (!token)
    token = program.command("token").description("Inspect and manage the stored Canvas credential.");
  registerTokenRefresh(token, context);
  registerTokenRotate(token, context);
  registerTokenRevoke(token, context);
}

function commonOptions(command: Command, { oauthClient }: { oauthClient: boolean }): Command {
  command
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL), e.g. https://school.instructure.com")
    .option("--store <uri>", "token store URI (env EASEL_TOKEN_STORE; default file:~/.config/easel/tokens/)")
    .option("--key <name>", 'record key in the store (env EASEL_TOKEN_KEY; default "default")');
  if (oauthClient) {
    command
      .option("--client-id <id>", "developer key client id (env CANVAS_CLIENT_ID)")
      .addOption(
        new Option(
          "--client-secret <secret>",
          "developer key secret (env CANVAS_CLIENT_SECRET; prefer the env var: flags show up in `ps`)",
        ),
      );
  }
  return command;
}

function registerLogin(program: Command, context: AuthCommandContext): void {
  const command = program
    .command("login")
    .description(
      "Log in to Canvas with OAuth2 (authorization code + PKCE) and store the credential, refresh token included.",
    );
  commonOptions(command, { oauthClient: true })
    .option(
      "--redirect-uri <uri>",
      "redirect URI registered on the developer key (env CANVAS_REDIRECT_URI; default http://127.0.0.1:<free port>/callback)",
    )
    .option("--scopes <scopes>", "space- or comma-separated Canvas scopes, for a scoped developer key")
    .option(
      "--purpose <text>",
      "label Canvas shows on the token (Account > Settings > Approved Integrations)",
    )
    .option("--no-browser", "do not try to open a browser; print the URL only (headless machines)")
    .option("--force-login", "make Canvas ask for credentials even when a browser session exists")
    .option("--timeout <seconds>", "how long to wait for the browser to come back", "300")
    .addHelpText(
      "after",
      `
Easel listens on 127.0.0.1 (a free port, RFC 8252) for Canvas's redirect, checks the state,
exchanges the code with the PKCE verifier and stores the record under --key. Without
--client-secret the developer key is treated as a public client (PKCE only).
If --redirect-uri is not a loopback URL, paste the URL the browser ends on when asked.

Examples:
  $ export CANVAS_BASE_URL=https://school.instructure.com CANVAS_CLIENT_ID=10000000000042
  $ export CANVAS_CLIENT_SECRET=... EASEL_FERNET_KEY=...
  $ easel login
  $ easel login --no-browser --key reports --store redis://127.0.0.1:6379/0?prefix=easel:
  $ easel login --scopes "url:GET|/api/v1/courses url:GET|/api/v1/courses/:course_id/enrollments"`,
    )
    .action(async (flags: LoginFlags) => {
      await login(flags, context);
    });
}

function registerLogout(program: Command, context: AuthCommandContext): void {
  const command = program
    .command("logout")
    .description("Revoke the stored credential at Canvas and delete it from the store.");
  commonOptions(command, { oauthClient: true })
    .option("--force", "delete the stored record even if Canvas cannot be reached to revoke it")
    .addHelpText(
      "after",
      `
A credential Canvas no longer accepts counts as revoked. Without --force, a network failure
leaves the record in place so you can try again.

Examples:
  $ easel logout
  $ easel logout --key reports --force`,
    )
    .action(async (flags: CommonFlags & { force?: boolean }) => {
      await revoke(flags, context, { tolerateUnreachable: flags.force === true, verb: "Logged out" });
    });
}

function registerTokenRefresh(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("refresh")
    .description("Refresh the stored OAuth token now (under the store's lock, so a fleet refreshes once).");
  commonOptions(command, { oauthClient: true })
    .addHelpText(
      "after",
      `
Exits 3 when Canvas refused the refresh token for good, printing the command to run.

Examples:
  $ easel token refresh
  $ easel token refresh --key reports --store file:/var/lib/easel/tokens/`,
    )
    .action(async (flags: CommonFlags) => {
      await withManager(flags, context, "auto", async (manager) => {
        const status = await manager.refresh();
        context.stdout.write(`Refreshed.\n${formatStatus(status)}`);
      });
    });
}

function registerTokenRotate(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("rotate")
    .description(
      "Regenerate the stored developer token through Canvas's Access Tokens API and store the new one.",
    );
  commonOptions(command, { oauthClient: false })
    .option(
      "--expires-at <date>",
      "new expiry (ISO 8601); Canvas requires one to regenerate an expired token",
    )
    .addHelpText(
      "after",
      `
The old token stops working as soon as Canvas answers; the new one is written under the
store's lock before the command returns.

Examples:
  $ easel token rotate
  $ easel token rotate --expires-at 2027-06-30T00:00:00Z`,
    )
    .action(async (flags: CommonFlags & { expiresAt?: string }) => {
      await withManager(flags, context, "developer-token", async (manager) => {
        const status = await manager.rotate({ expiresAt: flags.expiresAt });
        context.stdout.write(`Rotated.\n${formatStatus(status)}`);
      });
    });
}

function registerTokenRevoke(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("revoke")
    .description("Revoke the stored credential at Canvas, then delete the record.");
  commonOptions(command, { oauthClient: true })
    .addHelpText(
      "after",
      `
Examples:
  $ easel token revoke
  $ easel token revoke --key reports`,
    )
    .action(async (flags: CommonFlags) => {
      await revoke(flags, context, { tolerateUnreachable: false, verb: "Revoked" });
    });
}

async function revoke(
  flags: CommonFlags,
  context: AuthCommandContext,
  { tolerateUnreachable, verb }: { tolerateUnreachable: boolean; verb: string },
): Promise<void> {
  await withManager(
    flags,
    context,
    "auto",
    async (manager, store) => {
      try {
        const result = await manager.revoke();
        if (!result.present) {
          context.stdout.write(`Nothing stored under key "${manager.key}".\n`);
          return;
        }
        context.stdout.write(
          result.revoked
            ? `${verb}: Canvas revoked the token and the record "${manager.key}" was deleted.\n`
            : `${verb}: Canvas no longer accepted the token; the record "${manager.key}" was deleted.\n`,
        );
      } catch (error) {
        if (!tolerateUnreachable) throw error;
        await store.delete(manager.key);
        context.stderr.write(
          `easel: warning: could not revoke at Canvas (${error instanceof Error ? error.message : String(error)}); ` +
            "the record was deleted locally. The token may still be live: remove it in Canvas under " +
            "Account > Settings > Approved Integrations.\n",
        );
      }
    },
    { requireRecord: false },
  );
}

async function login(flags: LoginFlags, context: AuthCommandContext): Promise<void> {
  const env = readEnv(context.env);
  const baseUrl = required(flags.baseUrl ?? env.canvasBaseUrl, "--base-url or CANVAS_BASE_URL");
  const clientId = required(flags.clientId ?? env.oauthClient?.clientId, "--client-id or CANVAS_CLIENT_ID");
  const clientSecret = flags.clientSecret ?? env.oauthClient?.clientSecret;
  const timeoutSeconds = Number(flags.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, received "${flags.timeout}"`);
  }
  const wanted = flags.redirectUri ?? env.oauthClient?.redirectUri;
  // The store is opened first: a bad URI or missing key fails before anyone goes through consent.
  const { uri, key } = selectStore(flags, context.env);
  const store = await openStore(uri, context.env);
  let receiver: Receiver | undefined;
  try {
    const active = await startReceiver(wanted);
    receiver = active;
    const strategy = usage(() =>
      oauth({
        baseUrl,
        clientId,
        clientSecret,
        redirectUri: active.redirectUri,
        scopes: flags.scopes?.split(/[\s,]+/).filter(Boolean),
        purpose: flags.purpose,
        dangerouslyAllowInsecureHttp: isLoopbackHttpUrl(baseUrl),
      }),
    );
    const { url, state, codeVerifier } = strategy.startLogin({ forceLogin: flags.forceLogin === true });
    context.stdout.write(`Open this URL in a browser to authorize Easel:\n\n  ${url}\n\n`);
    if (flags.browser && receiver.kind === "loopback") openBrowser(url);
    context.stderr.write(
      receiver.kind === "loopback"
        ? `Waiting up to ${timeoutSeconds} s for Canvas to redirect to ${receiver.redirectUri} ...\n`
        : "After approving, paste the full URL your browser ends on, then press Enter:\n",
    );
    const record = await receiver.waitForCallback(timeoutSeconds * 1000, async (callbackUrl) => {
      const received = await strategy.handleCallback(callbackUrl, { expectedState: state, codeVerifier });
      // Under the lock: a process refreshing the old record must not overwrite the new login.
      await store.withLock(key, () => store.set(key, received));
      return received;
    });
    const user = record.user ? `${record.user.name ?? "user"} (id ${record.user.id})` : "an unknown user";
    context.stdout.write(
      `Logged in to ${strategy.baseUrl} as ${user}; stored under key "${key}" in ${redactStoreUri(uri)}.\n`,
    );
  } finally {
    await receiver?.close();
    await store.close();
  }
}

/**
 * Builds the manager for an existing record. `auto` picks the strategy from the record: one with
 * a refresh token is OAuth (needs the client id), one without is a developer token.
 */
async function withManager(
  flags: CommonFlags,
  context: AuthCommandContext,
  kind: "auto" | "developer-token",
  run: (manager: TokenManager, store: TokenStore) => Promise<void>,
  { requireRecord = true }: { requireRecord?: boolean } = {},
): Promise<void> {
  const env = readEnv(context.env);
  const baseUrl = required(flags.baseUrl ?? env.canvasBaseUrl, "--base-url or CANVAS_BASE_URL");
  const { uri, key } = selectStore(flags, context.env);
  const store = await openStore(uri, context.env);
  const remedySuffix = flags.store ? ` --store ${redactStoreUri(uri)}` : "";
  try {
    const record = await store.get(key);
    if (!record && requireRecord) {
      const keyFlag = key === "default" ? "" : ` --key ${key}`;
      const command = kind === "developer-token" ? "easel token import" : "easel login";
      throw new CliExit(
        EXIT_REAUTH,
        `No Canvas credential is stored under key "${key}" in ${redactStoreUri(uri)}.\n` +
          `To fix it, run:\n  ${command}${keyFlag}${remedySuffix}`,
      );
    }
    const strategy = strategyFor(record, kind, baseUrl, flags, env, context);
    const manager = new TokenManager(strategy, store, { key, logger: stderrLogger(context) });
    try {
      await run(manager, store);
    } catch (error) {
      if (error instanceof TypeError && (error as { code?: unknown }).code === "ERR_INVALID_ARG_VALUE") {
        throw new UsageError(error.message, { cause: error });
      }
      if (error instanceof ReauthorizationRequiredError) {
        throw new CliExit(
          EXIT_REAUTH,
          `${error.message}\nTo fix it, run:\n  ${error.remedy}${remedySuffix}`,
          {
            cause: error,
          },
        );
      }
      throw error;
    }
  } finally {
    await store.close();
  }
}

function strategyFor(
  record: TokenRecord | undefined,
  kind: "auto" | "developer-token",
  baseUrl: string,
  flags: CommonFlags,
  env: EaselEnvConfig,
  context: AuthCommandContext,
): AuthStrategy {
  const insecure = isLoopbackHttpUrl(baseUrl);
  const hasRefreshToken = typeof record?.refresh_token === "string" && record.refresh_token !== "";
  const clientConfigured = Boolean(flags.clientId ?? env.oauthClient?.clientId);
  const isOAuth = kind === "auto" && (hasRefreshToken || (!record && clientConfigured));
  if (!isOAuth) {
    return usage(() =>
      developerToken({ baseUrl, logger: stderrLogger(context), dangerouslyAllowInsecureHttp: insecure }),
    );
  }
  const clientId = required(flags.clientId ?? env.oauthClient?.clientId, "--client-id or CANVAS_CLIENT_ID");
  const strategy: OAuthStrategy = usage(() =>
    oauth({
      baseUrl,
      clientId,
      clientSecret: flags.clientSecret ?? env.oauthClient?.clientSecret,
      dangerouslyAllowInsecureHttp: insecure,
    }),
  );
  return strategy;
}

function readEnv(env: Readonly<Record<string, string | undefined>>): EaselEnvConfig {
  try {
    return readEnvConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

function required(value: string | undefined, what: string): string {
  if (!value) throw new UsageError(`${what} is required.`);
  return value;
}

/** Strategy factories throw TypeError for bad options: a usage problem for the CLI. */
function usage<T>(build: () => T): T {
  try {
    return build();
  } catch (error) {
    if (error instanceof TypeError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

function formatStatus(status: TokenStatus): string {
  const lines = [
    `  key:          ${status.key}`,
    `  kind:         ${status.kind}`,
    `  state:        ${status.state}`,
  ];
  if (status.user) lines.push(`  user:         ${status.user.name ?? ""} (id ${status.user.id})`);
  if (status.expiresAt) lines.push(`  expires at:   ${status.expiresAt} (in ${status.expiresInSeconds} s)`);
  lines.push(`  refreshable:  ${status.hasRefreshToken ? "yes" : "no"}`);
  return `${lines.join("\n")}\n`;
}

/** Auth's warnings (expiry ahead, transient retries) on stderr; never a secret. */
function stderrLogger(context: AuthCommandContext): AuthLogger {
  const noop = (): void => {};
  return {
    debug: noop,
    info: noop,
    warn: (_fields, message) => context.stderr.write(`easel: warning: ${message}\n`),
    error: noop,
  };
}

/** Opens the URL in the desktop's browser when there is one; silently does nothing otherwise. */
function openBrowser(url: string): void {
  const platform = process.platform;
  if (platform === "linux" && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  const [command, args] =
    platform === "darwin"
      ? ["open", [url]]
      : platform === "win32"
        ? ["cmd", ["/c", "start", '""', url.replace(/&/g, "^&")]]
        : ["xdg-open", [url]];
  try {
    const child = spawn(command, args as string[], { stdio: "ignore", detached: true });
    child.on("error", () => {});
    child.unref();
  } catch {
    // No browser launcher: the URL is printed anyway.
  }
}

interface Receiver {
  kind: "loopback" | "paste";
  redirectUri: string;
  waitForCallback(
    timeoutMs: number,
    exchange: (callbackUrl: string) => Promise<TokenRecord>,
  ): Promise<TokenRecord>;
  close(): Promise<void>;
}

/**
 * Where the browser comes back. A loopback redirect URI (RFC 8252 §7.3) gets a one-shot HTTP
 * server on 127.0.0.1; without a port in the URI, a free one is picked. Any other redirect URI
 * means the user pastes the final URL.
 */
async function startReceiver(wanted: string | undefined): Promise<Receiver> {
  let target: URL;
  try {
    target = new URL(wanted ?? "http://127.0.0.1/callback");
  } catch {
    throw new UsageError(`--redirect-uri must be an absolute URL, received "${wanted}"`);
  }
  if (!isLoopbackHttpUrl(target.href)) return pasteReceiver(target.href);
  // The handler is there from the first moment: a browser may come back before we wait for it.
  let accepting = true;
  let deliver!: (callback: { url: string; response: ServerResponse }) => void;
  const arrived = new Promise<{ url: string; response: ServerResponse }>((resolve) => {
    deliver = resolve;
  });
  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url ?? "/", target.href);
    if (request.method !== "GET" || url.pathname !== target.pathname || !accepting) {
      response.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("Not found\n");
      return;
    }
    accepting = false;
    deliver({ url: url.href, response });
  });
  const port = target.port ? Number(target.port) : 0;
  await new Promise<void>((resolve, reject) => {
    server.once("error", (error) =>
      reject(new UsageError(`Cannot listen on 127.0.0.1:${port}: ${error.message}`)),
    );
    server.listen(port, "127.0.0.1", () => resolve());
  });
  target.hostname = "127.0.0.1";
  target.port = String((server.address() as AddressInfo).port);
  return {
    kind: "loopback",
    redirectUri: target.href,
    waitForCallback: async (timeoutMs, exchange) => {
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          accepting = false;
          reject(
            new Error(
              `No answer from the browser within ${Math.round(timeoutMs / 1000)} s; run easel login again.`,
            ),
          );
        }, timeoutMs);
      });
      const { url, response } = await Promise.race([arrived, timedOut]).finally(() => clearTimeout(timer));
      // The page is answered (and flushed) only after the record is stored, so it tells the truth.
      try {
        const record = await exchange(url);
        await page(
          response,
          200,
          "Easel is authorized and the credential is stored. You can close this window.",
        );
        return record;
      } catch (error) {
        await page(response, 400, "Easel could not complete the login. See the terminal for details.");
        throw error;
      }
    },
    close: () => closeServer(server),
  };
}

function page(response: ServerResponse, status: number, text: string): Promise<void> {
  const flushed = new Promise<void>((resolve) => {
    response.once("finish", resolve);
    response.once("close", resolve);
  });
  response
    .writeHead(status, {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
      connection: "close",
    })
    .end(`<!doctype html><title>Easel</title><p>${text}</p>\n`);
  return flushed;
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    // Answered connections close by themselves (connection: close); idle ones (a browser's
    // preconnect) would keep the process alive.
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), 1000).unref();
  });
}

function pasteReceiver(redirectUri: string): Receiver {
  return {
    kind: "paste",
    redirectUri,
    waitForCallback: async (timeoutMs, exchange) => {
      const lines = createInterface({ input: process.stdin });
      try {
        const line = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(
            () => reject(new Error("No URL pasted in time; run easel login again.")),
            timeoutMs,
          );
          lines.once("line", (value) => {
            clearTimeout(timer);
            resolve(value.trim());
          });
        });
        return await exchange(line);
      } finally {
        lines.close();
      }
    },
    close: async () => {},
  };
}
