import { type Clock, systemClock } from "@easel/clock";
import { InvalidArgumentError, StoreAuthError, type StoreFactoryOptions } from "@easel/token-store";

/** Options of `createTokenStore` / `new VaultTokenStore` beyond the shared factory options. */
export interface VaultStoreOptions extends StoreFactoryOptions {
  /**
   * Upper bound on one HTTP request to Vault, connect included; past it the call fails with
   * `STORE_UNAVAILABLE`. Overrides `VAULT_CLIENT_TIMEOUT` ("5", "5s", "500ms", "1m").
   * @default 5000
   */
  timeoutMs?: number;
  /**
   * Check-and-set attempts of one `set`/`update`/`delete` before `STORE_CONFLICT`.
   * @default 20
   */
  maxCasAttempts?: number;
  /**
   * The time (epoch ms) of token renewal and lock expiry, when only the time is to be replaced
   * (tests pass the fake Vault's clock). `clock` replaces the waits too; every process sharing
   * locks must use clocks that agree (NTP).
   * @default clock.now
   */
  now?: () => number;
}

export type VaultAuthConfig =
  | { kind: "token"; token: string }
  | { kind: "approle"; roleId: string; secretId: string | undefined; mount: string };

export interface VaultTarget {
  /** `http://host:port`: what error messages name. Never carries credentials. */
  address: string;
  secure: boolean;
  hostname: string;
  port: number;
  mount: string;
  /** Path below the mount where records live, "" for the mount root; no leading/trailing "/". */
  basePath: string;
}

export interface NormalizedOptions {
  target: VaultTarget;
  auth: VaultAuthConfig;
  namespace: string | undefined;
  timeoutMs: number;
  maxCasAttempts: number;
  /** Waits (lock polling, retry backoff) and the time, with `now` folded in. */
  clock: Clock;
}

const URI_FORM = "vault+http://host[:port]/MOUNT[/PATH] or vault+https://...";
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const DEFAULT_TIMEOUT_MS = 5_000;
const DEFAULT_PORT = 8200;

/** The workspace's bad-argument error (`TypeError`, `ERR_INVALID_ARG_VALUE`). */
export function invalidArgument(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}

/** One validation pass; nothing is re-validated on the hot path. */
export function normalizeOptions(uri: string, options: VaultStoreOptions): NormalizedOptions {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? parseTimeout(env.VAULT_CLIENT_TIMEOUT) ?? DEFAULT_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) {
    throw invalidArgument(
      `options.timeoutMs must be a positive number of milliseconds; received ${timeoutMs}.`,
    );
  }
  const maxCasAttempts = options.maxCasAttempts ?? 20;
  if (!Number.isInteger(maxCasAttempts) || maxCasAttempts < 1) {
    throw invalidArgument(`options.maxCasAttempts must be a positive integer; received ${maxCasAttempts}.`);
  }
  if (options.now !== undefined && typeof options.now !== "function") {
    throw invalidArgument(
      `options.now must be a function returning epoch milliseconds; received ${typeof options.now}.`,
    );
  }
  const namespace = env.VAULT_NAMESPACE?.trim() || undefined;
  return {
    target: parseVaultUri(uri),
    auth: authFromEnv(env),
    namespace,
    timeoutMs,
    maxCasAttempts,
    clock: clockFrom(options),
  };
}

function clockFrom(options: VaultStoreOptions): Clock {
  const clock = options.clock ?? systemClock;
  const now = options.now;
  if (now === undefined) return clock;
  return { now: () => now(), sleep: (ms, signal) => clock.sleep(ms, signal) };
}

export function parseVaultUri(uri: string): VaultTarget {
  if (typeof uri !== "string")
    throw invalidArgument(`A Vault store URI must be a string (${URI_FORM}); received ${typeof uri}.`);
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalidArgument(`Not a Vault store URI: expected ${URI_FORM}.`);
  }
  if (url.username || url.password) {
    // The URI is not echoed: its user-info may be a token.
    throw invalidArgument(
      `A Vault store URI must not carry credentials; set VAULT_TOKEN or VAULT_ROLE_ID/VAULT_SECRET_ID instead (${URI_FORM}).`,
    );
  }
  const secure = url.protocol === "vault+https:";
  if (!secure && url.protocol !== "vault+http:") {
    throw invalidArgument(`Unsupported scheme "${url.protocol}" in "${uri}": expected ${URI_FORM}.`);
  }
  if (!url.hostname) throw invalidArgument(`No host in "${uri}": expected ${URI_FORM}.`);
  if (url.search || url.hash)
    throw invalidArgument(`"${uri}" has a query or fragment: expected ${URI_FORM}.`);
  const segments = url.pathname.split("/").filter((s) => s !== "");
  const bad = segments.find((s) => !SEGMENT.test(s) || s.endsWith("."));
  if (segments.length === 0 || bad !== undefined) {
    throw invalidArgument(
      `"${uri}" needs a KV v2 mount and optional path of letters, digits, "_", "-" and "." (${URI_FORM}).`,
    );
  }
  const port = url.port ? Number(url.port) : DEFAULT_PORT;
  const hostname = url.hostname.replace(/^\[|\]$/g, "");
  return {
    address: `${secure ? "https" : "http"}://${url.hostname}:${port}`,
    secure,
    hostname,
    port,
    mount: segments[0]!,
    basePath: segments.slice(1).join("/"),
  };
}

function authFromEnv(env: Readonly<Record<string, string | undefined>>): VaultAuthConfig {
  const token = env.VAULT_TOKEN?.trim();
  if (token) return { kind: "token", token };
  const roleId = env.VAULT_ROLE_ID?.trim();
  const secretId = env.VAULT_SECRET_ID?.trim() || undefined;
  if (roleId) {
    const mount = (env.VAULT_AUTH_MOUNT?.trim() || "approle").replace(/^\/*(auth\/)?|\/+$/g, "");
    if (!mount.split("/").every((s) => SEGMENT.test(s))) {
      throw invalidArgument(
        `VAULT_AUTH_MOUNT must be an auth mount path such as "approle"; received "${mount}".`,
      );
    }
    return { kind: "approle", roleId, secretId, mount };
  }
  const hint = secretId ? " VAULT_SECRET_ID is set but VAULT_ROLE_ID is not." : "";
  throw new StoreAuthError(
    `No Vault credentials: set VAULT_TOKEN, or VAULT_ROLE_ID and VAULT_SECRET_ID for AppRole login.${hint}`,
  );
}

/** `VAULT_CLIENT_TIMEOUT` as the Vault CLI reads it: seconds, or a duration with ms/s/m. */
function parseTimeout(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(value.trim());
  if (!match) {
    throw invalidArgument(
      `VAULT_CLIENT_TIMEOUT must be seconds or a duration like "5s" or "500ms"; received "${value}".`,
    );
  }
  const amount = Number(match[1]);
  return match[2] === "ms" ? amount : match[2] === "m" ? amount * 60_000 : amount * 1000;
}
