import { chmod, stat } from "node:fs/promises";
import {
  developerToken,
  isLoopbackHttpUrl,
  ReauthorizationRequiredError,
  TokenAdmin,
  TokenManager,
  type TokenStatus,
} from "@easel/auth";
import { CanvasClient } from "@easel/canvas-client";
import { canvasAuthSettings, strategyForRecord } from "@easel/config";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import type { AdoptFlags, CheckFlags } from "../commands/token.js";
import { shellQuote } from "../course-options.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { type Env, openStore, readEnv, redactStoreUri, selectStore, usage } from "./config.js";
import { daysLeft, expiryWarningDays, isPersonalToken } from "./expiry.js";
import { fingerprint } from "./token.js";

const DAY_SECONDS = 86_400;

/**
 * Asks Canvas's Access Tokens API for a personal token's expiry and records it (`expires_at`,
 * `token_id`) under the store's lock. Returns the record as stored afterwards.
 * @throws ReauthorizationRequiredError when Canvas no longer accepts the token
 */
export async function lookUpExpiry(
  store: TokenStore,
  key: string,
  baseUrl: string,
): Promise<{ record: TokenRecord | undefined; status: TokenStatus }> {
  const strategy = usage(() =>
    developerToken({ baseUrl, dangerouslyAllowInsecureHttp: isLoopbackHttpUrl(baseUrl) }),
  );
  const status = await new TokenAdmin(new TokenManager(strategy, store, { key })).inspect();
  return { record: await store.get(key), status };
}

/** "expires 2026-12-20T00:00:00.000Z (13 days left)", "expired ...", or "no expiry". */
export function expiryPhrase(record: TokenRecord, nowMs = Date.now()): string {
  if (typeof record.expires_at !== "number") return "no expiry";
  const when = new Date(record.expires_at * 1000).toISOString();
  const days = daysLeft(record, nowMs)!;
  if (record.expires_at <= nowMs / 1000) return `expired ${when}`;
  return `expires ${when} (${days === 0 ? "less than a day" : `${days} day${days === 1 ? "" : "s"}`} left)`;
}

/**
 * `easel token check`: 0 valid beyond the warning window, 1 expiring within it, 3 expired or
 * revoked (or nothing stored). With a Canvas URL the token is checked at Canvas; without one, only
 * the stored expiry is.
 */
export async function checkToken(flags: CheckFlags, env: Env = process.env): Promise<void> {
  const config = readEnv(env);
  const windowDays = expiryWarningDays(flags.expiryWarningDays, env);
  const baseUrl = flags.baseUrl ?? config.canvasBaseUrl;
  const { uri, key } = selectStore(flags, env);
  const where = `"${key}" in ${redactStoreUri(uri)}`;
  const store = await openStore(uri, env);
  try {
    let record = await store.get(key);
    if (!record) {
      throw new CliExit(
        EXIT_REAUTH,
        `No token record ${where}: store one with \`easel token import\` or \`easel login\`.`,
      );
    }
    try {
      if (baseUrl && isPersonalToken(record))
        record = (await lookUpExpiry(store, key, baseUrl)).record ?? record;
      else if (baseUrl) await checkOAuth(record, key, baseUrl, store, config);
    } catch (error) {
      if (
        error instanceof ReauthorizationRequiredError ||
        (error as { code?: unknown }).code === "REAUTH_REQUIRED"
      ) {
        throw new CliExit(
          EXIT_REAUTH,
          `CRITICAL: Canvas no longer accepts the token ${where} (expired or revoked). ` +
            `Create a new one and store it (\`easel tokens create --into-store ${shellQuote(redactStoreUri(uri))}\`, or \`easel login\`).`,
          { cause: error },
        );
      }
      throw error;
    }
    if (!isPersonalToken(record)) {
      process.stdout.write(`OK: the OAuth token ${where} is valid and refreshable.\n`);
      return;
    }
    const left = typeof record.expires_at === "number" ? record.expires_at - Date.now() / 1000 : undefined;
    const checked = baseUrl ? "" : " (stored expiry only: set CANVAS_BASE_URL to ask Canvas)";
    if (left !== undefined && left <= 0) {
      throw new CliExit(EXIT_REAUTH, `CRITICAL: the token ${where} ${expiryPhrase(record)}${checked}.`);
    }
    if (left !== undefined && left <= windowDays * DAY_SECONDS) {
      throw new CliExit(
        EXIT_FAILURE,
        `WARNING: the token ${where} ${expiryPhrase(record)}, within the ${windowDays}-day window${checked}. ` +
          "Regenerate it: easel token rotate.",
      );
    }
    process.stdout.write(`OK: the token ${where} is valid, ${expiryPhrase(record)}${checked}.\n`);
  } finally {
    await store.close();
  }
}

/** An OAuth record: one authenticated call (refreshing first when due) proves it still works. */
async function checkOAuth(
  record: TokenRecord,
  key: string,
  baseUrl: string,
  store: TokenStore,
  config: ReturnType<typeof readEnv>,
): Promise<void> {
  const settings = usage(() => canvasAuthSettings(config, { baseUrl }));
  const strategy = usage(() => strategyForRecord(settings, record, { key }));
  const client = new CanvasClient({
    baseUrl,
    auth: new TokenManager(strategy, store, { key }),
    maxConcurrency: 1,
  });
  try {
    await client.users.self();
  } finally {
    await client.close();
  }
}

/**
 * `easel token adopt --store file:PATH`: takes over the Python token manager's cache. Makes its
 * mode private first (saying so), proves the key decrypts it, then shows what it holds.
 */
export async function adoptToken(flags: AdoptFlags, env: Env = process.env): Promise<void> {
  if (!flags.store?.startsWith("file:") || flags.store.endsWith("/")) {
    throw new UsageError(
      `--store must name the Python manager's cache file, e.g. --store file:/srv/jobs/canvas-token.enc; received "${flags.store ?? ""}".`,
    );
  }
  const path = flags.store.slice("file:".length);
  let mode: number;
  try {
    mode = (await stat(path)).mode & 0o777;
  } catch (error) {
    throw new CliExit(EXIT_FAILURE, `Cannot read ${path}: ${(error as Error).message}`, { cause: error });
  }
  if (process.platform !== "win32" && (mode & 0o077) !== 0) {
    process.stderr.write(
      `easel: ${path} has mode ${mode.toString(8).padStart(4, "0")}: other users could read the credential. ` +
        "Changing it to 0600.\n",
    );
    await chmod(path, 0o600);
  }
  const key = flags.key || env.EASEL_TOKEN_KEY || "default";
  const store = await openStore(flags.store, env);
  try {
    // The read is the check: a wrong key fails with DECRYPT_FAILED and changes nothing.
    let record = await store.get(key);
    if (!record) throw new CliExit(EXIT_FAILURE, `${path} holds no token record.`);
    const baseUrl = flags.baseUrl ?? readEnv(env).canvasBaseUrl;
    let looked = "";
    if (baseUrl && isPersonalToken(record) && typeof record.expires_at !== "number") {
      try {
        record = (await lookUpExpiry(store, key, baseUrl)).record ?? record;
        looked = " (expiry looked up at Canvas and stored)";
      } catch (error) {
        if (!(error instanceof ReauthorizationRequiredError)) throw error;
        throw new CliExit(
          EXIT_REAUTH,
          `${path} decrypts, but Canvas no longer accepts its token (expired or revoked).`,
          {
            cause: error,
          },
        );
      }
    }
    process.stdout.write(
      `Adopted ${path}: it decrypts with the configured key.\n` +
        `  Access token:  fingerprint ${fingerprint(record.access_token)}\n` +
        `  Refresh token: ${isPersonalToken(record) ? "absent (a personal access token)" : "present"}\n` +
        `  Expiry:        ${expiryPhrase(record)}${looked}\n` +
        `Use it with: --store ${shellQuote(flags.store)} (or EASEL_TOKEN_STORE=${shellQuote(flags.store)}).\n`,
    );
  } finally {
    await store.close();
  }
}
