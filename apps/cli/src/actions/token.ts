import { createHash } from "node:crypto";
import { developerToken, isLoopbackHttpUrl } from "@easel/auth";
import { ConfigError, canvasRootUrl } from "@easel/config";
import {
  CorruptRecordError,
  parseTokenRecord,
  pythonJsonDumps,
  type TokenRecord,
  type TokenStore,
} from "@easel/token-store";
import type { ExportFlags, ImportFlags, ShowFlags } from "../commands/token.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, UsageError } from "../exit-codes.js";
import { openStore, readEnv, redactStoreUri, type StoreFlags, selectStore } from "./config.js";
import { isPersonalToken } from "./expiry.js";

/** What `token show` prints for `CANVAS_ACCESS_TOKEN`: its fingerprint and what Canvas says of it. */
export interface BareTokenSummary {
  source: "CANVAS_ACCESS_TOKEN";
  access_token_fingerprint: string;
  /** Canvas's Access Tokens API answer; `accepted: false` when Canvas refuses the token. */
  canvas:
    | {
        accepted: true;
        purpose: string | null;
        expires_at: string | null;
        last_used_at: string | null;
        workflow_state: string | null;
        scopes: readonly string[];
      }
    | { accepted: false; reason: string }
    | null;
}

async function showBareToken(token: string, flags: ShowFlags): Promise<void> {
  const configured = readEnv().canvasBaseUrl;
  let baseUrl: string | undefined;
  try {
    baseUrl = configured ? canvasRootUrl(configured) : undefined;
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
  const summary: BareTokenSummary = {
    source: "CANVAS_ACCESS_TOKEN",
    access_token_fingerprint: fingerprint(token),
    canvas: null,
  };
  if (baseUrl) {
    const strategy = developerToken({ baseUrl, dangerouslyAllowInsecureHttp: isLoopbackHttpUrl(baseUrl) });
    try {
      const info = await strategy.inspect({ access_token: token, token_type: "Bearer" });
      summary.canvas = {
        accepted: true,
        purpose: info.purpose ?? null,
        expires_at: info.expiresAt,
        last_used_at: info.lastUsedAt,
        workflow_state: info.workflowState ?? null,
        scopes: info.scopes,
      };
    } catch (error) {
      if ((error as { code?: unknown }).code !== "REAUTH_REQUIRED") throw error;
      summary.canvas = { accepted: false, reason: "expired, revoked, or still pending" };
    }
  }
  process.stdout.write(
    flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatBareSummary(summary, baseUrl),
  );
  if (summary.canvas?.accepted === false) {
    throw new CliExit(
      EXIT_REAUTH,
      "Canvas refuses CANVAS_ACCESS_TOKEN: create a new access token in Canvas (Account > Settings) and set CANVAS_ACCESS_TOKEN to it.",
    );
  }
}

function formatBareSummary(s: BareTokenSummary, baseUrl: string | undefined): string {
  const c = s.canvas;
  const canvas: [string, string][] =
    c === null
      ? [["Canvas", "not asked: set CANVAS_BASE_URL to ask it about the token"]]
      : c.accepted
        ? [
            ["Canvas", `${baseUrl} accepts the token (${c.workflow_state ?? "state unknown"})`],
            ["Purpose", c.purpose ?? "(none)"],
            ["Expires", c.expires_at ?? "never"],
            ["Last used", c.last_used_at ?? "(never)"],
            ["Scopes", c.scopes.length ? c.scopes.join(" ") : "(all)"],
          ]
        : [["Canvas", `${baseUrl} refuses the token (${c.reason}): create a new one in Canvas`]];
  return formatRows([
    ["Token", "CANVAS_ACCESS_TOKEN (no stored record is used while it is set)"],
    ["Access token", `fingerprint ${s.access_token_fingerprint} (first 12 hex of SHA-256)`],
    ...canvas,
  ]);
}

/** "Label:   value" lines, values aligned. */
function formatRows(rows: readonly (readonly [string, string])[]): string {
  return rows.map(([label, value]) => `${`${label}:`.padEnd(15)}${value}\n`).join("");
}

/** Top-level record fields Easel knows; anything else is an "extra" field kept as is. */
const KNOWN_FIELDS = new Set([
  "access_token",
  "token_type",
  "refresh_token",
  "expires_at",
  "expires_in",
  "scope",
  "user",
]);

export async function showToken(flags: ShowFlags): Promise<void> {
  // CANVAS_ACCESS_TOKEN is what other commands use when no --store is named: without a stored
  // record (or a store that cannot be opened yet), that token is the one worth showing.
  const bare = flags.store ? undefined : process.env.CANVAS_ACCESS_TOKEN?.trim() || undefined;
  let opened: Awaited<ReturnType<typeof open>>;
  try {
    opened = await open(flags);
  } catch (error) {
    if (bare) return showBareToken(bare, flags);
    throw error;
  }
  const { uri, key, store } = opened;
  try {
    const record = await store.get(key);
    if (!record && bare) return await showBareToken(bare, flags);
    if (!record) throw noRecord(key, uri);
    const summary = summarize(record, key, uri);
    process.stdout.write(flags.json ? `${JSON.stringify(summary, null, 2)}\n` : formatSummary(summary));
  } finally {
    await store.close();
  }
}

export async function importToken(flags: ImportFlags): Promise<void> {
  let record = flags.accessToken !== undefined ? recordFromFlags(flags) : await recordFromStdin(flags);
  const { uri, key, store } = await open(flags);
  try {
    const replaced = await store.withLock(key, async () => {
      const previous = await store.get(key);
      await store.set(key, record);
      return previous !== undefined;
    });
    const baseUrl = flags.baseUrl ?? readEnv().canvasBaseUrl;
    if (baseUrl && isPersonalToken(record)) {
      // A personal token's expiry is known only to Canvas: record it now, so warnings come in time.
      const { lookUpExpiry } = await import("./token-lifecycle.js");
      try {
        record = (await lookUpExpiry(store, key, baseUrl)).record ?? record;
      } catch (error) {
        if (!(error instanceof Error && (error as { code?: unknown }).code === "REAUTH_REQUIRED"))
          throw error;
        throw new CliExit(
          EXIT_REAUTH,
          `Stored token record "${key}" in ${redactStoreUri(uri)}, but Canvas does not accept the token ` +
            "(expired, revoked, or still pending): check it in Canvas, then import a working one.",
          { cause: error },
        );
      }
    }
    const summary = summarize(record, key, uri);
    process.stdout.write(
      `${replaced ? "Replaced" : "Stored"} token record "${key}" in ${summary.store} ` +
        `(access token ${summary.access_token_fingerprint}, ${expiryText(summary)}).\n`,
    );
  } finally {
    await store.close();
  }
}

export async function exportToken(flags: ExportFlags): Promise<void> {
  if (!flags.reveal) {
    throw new UsageError(
      "`easel token export` prints the access and refresh tokens in clear text, where terminals, logs " +
        "and scrollback keep them. Add --reveal if that is what you want; to inspect the record without " +
        "its secrets use `easel token show`.",
    );
  }
  const { uri, key, store } = await open(flags);
  try {
    const record = await store.get(key);
    if (!record) throw noRecord(key, uri);
    process.stdout.write(`${pythonJsonDumps(record)}\n`);
  } finally {
    await store.close();
  }
}

async function open(flags: StoreFlags): Promise<{ uri: string; key: string; store: TokenStore }> {
  const { uri, key } = selectStore(flags);
  return { uri, key, store: await openStore(uri) };
}

function noRecord(key: string, uri: string): CliExit {
  return new CliExit(
    EXIT_FAILURE,
    `No token record "${key}" in ${redactStoreUri(uri)}. Store one with \`easel token import\` ` +
      "(or check --store/EASEL_TOKEN_STORE and --key/EASEL_TOKEN_KEY).",
  );
}

/** What `token show` prints: everything about the record except its secrets. */
export interface TokenSummary {
  key: string;
  store: string;
  token_type: string | null;
  /** First 12 hex digits of SHA-256 of the access token: enough to compare, useless to steal. */
  access_token_fingerprint: string;
  refresh_token_present: boolean;
  expires_at: number | null;
  expires_at_iso: string | null;
  /** Seconds until expiry; negative once expired. */
  expires_in_seconds: number | null;
  /** Whole days until expiry (floor); negative once expired. */
  days_left: number | null;
  user: { id: number; name: string | null } | null;
  scope: string | null;
  extra_fields: string[];
}

function summarize(record: TokenRecord, key: string, uri: string, nowMs = Date.now()): TokenSummary {
  const expiresAt = typeof record.expires_at === "number" ? record.expires_at : null;
  return {
    key,
    store: redactStoreUri(uri),
    token_type: typeof record.token_type === "string" ? record.token_type : null,
    access_token_fingerprint: fingerprint(record.access_token),
    refresh_token_present: typeof record.refresh_token === "string" && record.refresh_token !== "",
    expires_at: expiresAt,
    expires_at_iso: expiresAt === null ? null : new Date(expiresAt * 1000).toISOString(),
    expires_in_seconds: expiresAt === null ? null : Math.round(expiresAt - nowMs / 1000),
    days_left: expiresAt === null ? null : Math.floor((expiresAt - nowMs / 1000) / 86_400),
    user: record.user
      ? { id: record.user.id, name: typeof record.user.name === "string" ? record.user.name : null }
      : null,
    scope: typeof record.scope === "string" ? record.scope : null,
    extra_fields: Object.keys(record).filter((field) => !KNOWN_FIELDS.has(field)),
  };
}

export function fingerprint(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 12);
}

function expiryText(summary: TokenSummary): string {
  if (summary.expires_in_seconds === null) return "no expiry recorded";
  const seconds = summary.expires_in_seconds;
  return seconds >= 0
    ? `expires ${summary.expires_at_iso}, in ${seconds} s (${summary.days_left} day${summary.days_left === 1 ? "" : "s"} left)`
    : `expired ${summary.expires_at_iso}, ${-seconds} s ago`;
}

function formatSummary(s: TokenSummary): string {
  const rows: [string, string][] = [
    ["Record", `"${s.key}" in ${s.store}`],
    ["Token type", s.token_type ?? "(none)"],
    ["Access token", `fingerprint ${s.access_token_fingerprint} (first 12 hex of SHA-256)`],
    ["Refresh token", s.refresh_token_present ? "present" : "absent"],
    ["Expires", expiryText(s)],
    ["User", s.user ? `${s.user.id}${s.user.name ? ` (${s.user.name})` : ""}` : "(unknown)"],
    ["Scope", s.scope ?? "(none)"],
    ["Extra fields", s.extra_fields.length ? s.extra_fields.join(", ") : "(none)"],
  ];
  return formatRows(rows);
}

function recordFromFlags(flags: {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
}): TokenRecord {
  if (!flags.accessToken) throw new UsageError("--access-token must not be empty.");
  const record: TokenRecord = { access_token: flags.accessToken, token_type: "Bearer" };
  if (flags.refreshToken) record.refresh_token = flags.refreshToken;
  if (flags.expiresIn !== undefined) {
    record.expires_in = flags.expiresIn;
    record.expires_at = Date.now() / 1000 + flags.expiresIn;
  }
  return record;
}

async function recordFromStdin(flags: { refreshToken?: string; expiresIn?: number }): Promise<TokenRecord> {
  if (flags.refreshToken !== undefined || flags.expiresIn !== undefined) {
    throw new UsageError(
      "--refresh-token and --expires-in go with --access-token; a record on stdin carries its own.",
    );
  }
  if (process.stdin.isTTY) {
    throw new UsageError(
      "Pipe one JSON token record on stdin (e.g. `easel token import < token.json`), or pass --access-token.",
    );
  }
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8").trim();
  if (text === "")
    throw new UsageError("Nothing on stdin: pipe one JSON token record, or pass --access-token.");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    // JSON.parse quotes its input in the message, and the input holds a token: say nothing of it.
    throw new UsageError("stdin is not valid JSON: expected one token record object.");
  }
  let record: TokenRecord;
  try {
    record = parseTokenRecord(value, "stdin");
  } catch (error) {
    if (error instanceof CorruptRecordError) {
      throw new UsageError(error.message.replace("The stored value at stdin", "The JSON on stdin"), {
        cause: error,
      });
    }
    throw error;
  }
  // A token endpoint reply has expires_in; the store keeps an absolute time so it means something later.
  if (record.token_type === undefined) record.token_type = "Bearer";
  if (typeof record.expires_in === "number" && record.expires_at === undefined) {
    record.expires_at = Date.now() / 1000 + record.expires_in;
  }
  return record;
}
