import { spawn } from "node:child_process";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";
import {
  type AuthLogger,
  isLoopbackHttpUrl,
  ReauthorizationRequiredError,
  TokenAdmin,
  TokenManager,
  type TokenStatus,
} from "@easel/auth";
import { canvasAuthSettings, oauthStrategy, requireOAuthClient, strategyForRecord } from "@easel/config";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import type {
  AuthCommandContext,
  CommonFlags,
  LoginFlags,
  LogoutFlags,
  RotateFlags,
} from "../commands/auth.js";
import { shellQuote } from "../course-options.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { openStore, readEnv, redactStoreUri, selectStore, usage } from "./config.js";

export function logout(flags: LogoutFlags, context: AuthCommandContext): Promise<void> {
  return revoke(flags, context, { tolerateUnreachable: flags.force === true, verb: "Logged out" });
}

export function refreshToken(flags: CommonFlags, context: AuthCommandContext): Promise<void> {
  return withAdmin(flags, context, "auto", async (admin) => {
    const status = await admin.refresh();
    context.stdout.write(`Refreshed.\n${formatStatus(status)}`);
  });
}

export function rotateToken(flags: RotateFlags, context: AuthCommandContext): Promise<void> {
  return withAdmin(flags, context, "developer-token", async (admin) => {
    const status = await admin.rotate({ expiresAt: flags.expiresAt });
    context.stdout.write(`Rotated.\n${formatStatus(status)}`);
  });
}

export function revokeToken(flags: CommonFlags, context: AuthCommandContext): Promise<void> {
  return revoke(flags, context, { tolerateUnreachable: false, verb: "Revoked" });
}

async function revoke(
  flags: CommonFlags,
  context: AuthCommandContext,
  { tolerateUnreachable, verb }: { tolerateUnreachable: boolean; verb: string },
): Promise<void> {
  await withAdmin(
    flags,
    context,
    "auto",
    async (admin, store) => {
      try {
        const result = await admin.revoke();
        if (!result.present) {
          context.stdout.write(`Nothing stored under key "${admin.key}".\n`);
          return;
        }
        context.stdout.write(
          result.revoked
            ? `${verb}: Canvas revoked the token and the record "${admin.key}" was deleted.\n`
            : `${verb}: Canvas no longer accepted the token; the record "${admin.key}" was deleted.\n`,
        );
      } catch (error) {
        if (!tolerateUnreachable) throw error;
        await store.delete(admin.key);
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

export async function login(flags: LoginFlags, context: AuthCommandContext): Promise<void> {
  const settings = usage(() => canvasAuthSettings(readEnv(context.env), flags));
  const client = usage(() => requireOAuthClient(settings));
  const timeoutSeconds = Number(flags.timeout);
  if (!Number.isFinite(timeoutSeconds) || timeoutSeconds <= 0) {
    throw new UsageError(`--timeout must be a positive number of seconds, received "${flags.timeout}"`);
  }
  const wanted = client.redirectUri;
  // The store is opened first: a bad URI or missing key fails before anyone goes through consent.
  const { uri, key } = selectStore(flags, context.env);
  const store = await openStore(uri, context.env);
  let receiver: Receiver | undefined;
  try {
    const active = await startReceiver(wanted);
    receiver = active;
    const strategy = usage(() =>
      oauthStrategy(settings, {
        redirectUri: active.redirectUri,
        scopes: flags.scopes?.split(/[\s,]+/).filter(Boolean),
        purpose: flags.purpose,
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
 * Builds the administration of an existing record. `auto` picks the strategy from the record: one with
 * a refresh token is OAuth (needs the client id), one without is a developer token.
 */
async function withAdmin(
  flags: CommonFlags,
  context: AuthCommandContext,
  kind: "auto" | "developer-token",
  run: (admin: TokenAdmin, store: TokenStore) => Promise<void>,
  { requireRecord = true }: { requireRecord?: boolean } = {},
): Promise<void> {
  const settings = usage(() => canvasAuthSettings(readEnv(context.env), flags));
  const { uri, key } = selectStore(flags, context.env);
  const store = await openStore(uri, context.env);
  const remedySuffix = flags.store ? ` --store ${shellQuote(redactStoreUri(uri))}` : "";
  try {
    const record = await store.get(key);
    if (!record && requireRecord) {
      const keyFlag = key === "default" ? "" : ` --key ${shellQuote(key)}`;
      const command = kind === "developer-token" ? "easel token import" : "easel login";
      throw new CliExit(
        EXIT_REAUTH,
        `No Canvas credential is stored under key "${key}" in ${redactStoreUri(uri)}.\n` +
          `To fix it, run:\n  ${command}${keyFlag}${remedySuffix}`,
      );
    }
    const strategy = usage(() =>
      strategyForRecord(settings, record, { key, kind, logger: stderrLogger(context) }),
    );
    const admin = new TokenAdmin(new TokenManager(strategy, store, { key, logger: stderrLogger(context) }));
    try {
      await run(admin, store);
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
            new CliExit(
              EXIT_FAILURE,
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
            () => reject(new CliExit(EXIT_FAILURE, "No URL pasted in time; run easel login again.")),
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
