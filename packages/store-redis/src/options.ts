import { type Clock, systemClock } from "@easel/clock";
import { InvalidArgumentError, type StoreFactoryOptions } from "@easel/token-store";

export { InvalidArgumentError };

/** Options of `createTokenStore` / `new RedisTokenStore`, on top of what every store factory takes. */
export interface RedisStoreOptions extends StoreFactoryOptions {
  /**
   * Upper bound for opening a connection (TCP, TLS, AUTH, SELECT). Past it the operation fails
   * with `STORE_UNAVAILABLE` instead of waiting: a CLI never hangs on a dead Redis.
   * @default 2000
   */
  connectTimeoutMs?: number;
  /**
   * Upper bound for one command once connected. A server that accepts connections but does not
   * answer (frozen, partitioned) fails with `STORE_UNAVAILABLE` after this long, and the next
   * operation reconnects. A write that timed out may or may not have been applied.
   * @default 5000
   */
  commandTimeoutMs?: number;
  /**
   * How long a record outlives its `expires_at` before Redis drops it by itself. The Redis TTL
   * is `max(expires_at - now, 0) + graceSeconds`, renewed on every write; a record without
   * `expires_at` never expires. Also settable as `?grace=SECONDS` in the URI.
   * @default 2_592_000 (30 days) for a record with a refresh_token, 86_400 (1 day) without
   */
  graceSeconds?: number;
}

/** Seconds a refreshable record survives past `expires_at`: refresh tokens outlive access tokens. */
export const DEFAULT_GRACE_WITH_REFRESH_SECONDS = 30 * 24 * 3600;
/** Seconds a record without a refresh token survives past `expires_at`: nothing can revive it. */
export const DEFAULT_GRACE_WITHOUT_REFRESH_SECONDS = 24 * 3600;
export const DEFAULT_CONNECT_TIMEOUT_MS = 2_000;
export const DEFAULT_COMMAND_TIMEOUT_MS = 5_000;
const DEFAULT_PREFIX = "easel:";

/** Where to connect and how, parsed once from the URI. */
export interface RedisTarget {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  database: number;
  /** Prepended to every key: records at `<prefix><key>`, locks at `<prefix>lock:<key>`. */
  prefix: string;
  /** `host:port` for messages: never credentials. */
  address: string;
  /** `redis[s]://host:port/db`: never credentials. */
  safeUri: string;
  graceSeconds: number | undefined;
}

export interface NormalizedOptions {
  target: RedisTarget;
  fernetKeys: string;
  connectTimeoutMs: number;
  commandTimeoutMs: number;
  /** undefined: the defaults that depend on the record's refresh_token. */
  graceSeconds: number | undefined;
  clock: Clock;
}

const ACCEPTED_FORMS =
  "redis://[[user]:password@]host[:port][/db][?prefix=easel:&tls=1&grace=SECONDS] (rediss:// for TLS)";

/** Validates everything once, so the hot path never re-checks. */
export function normalizeOptions(uri: string, options: RedisStoreOptions = {}): NormalizedOptions {
  const target = parseRedisUri(uri);
  const env = options.env ?? process.env;
  const fernetKeys = options.fernetKeys ?? env.EASEL_FERNET_KEY;
  if (typeof fernetKeys !== "string" || fernetKeys.trim() === "") {
    throw new InvalidArgumentError(
      `The Redis token store needs a Fernet key (options.fernetKeys or EASEL_FERNET_KEY); received ${fernetKeys === undefined ? "none" : "an empty or non-string value"}: set EASEL_FERNET_KEY to one or more ` +
        "comma-separated url-safe base64 keys (create one with `easel key generate`). Redis never holds a plaintext token.",
    );
  }
  return {
    target,
    fernetKeys,
    connectTimeoutMs: positiveNumber(
      "connectTimeoutMs",
      options.connectTimeoutMs,
      DEFAULT_CONNECT_TIMEOUT_MS,
    ),
    commandTimeoutMs: positiveNumber(
      "commandTimeoutMs",
      options.commandTimeoutMs,
      DEFAULT_COMMAND_TIMEOUT_MS,
    ),
    graceSeconds:
      options.graceSeconds === undefined
        ? target.graceSeconds
        : positiveNumber("graceSeconds", options.graceSeconds, DEFAULT_GRACE_WITH_REFRESH_SECONDS),
    clock: options.clock ?? systemClock,
  };
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new InvalidArgumentError(
      `options.${name} must be a positive finite number; received ${String(value)}.`,
    );
  }
  return value;
}

/**
 * Parses `redis://[[user]:password@]host[:port][/db][?prefix=easel:&tls=1&grace=SECONDS]`
 * (`rediss://` implies TLS). Errors show the URI with its password masked.
 */
export function parseRedisUri(uri: string): RedisTarget {
  if (typeof uri !== "string") {
    throw new InvalidArgumentError(
      `The Redis store URI must be a string; received ${typeof uri}. Expected ${ACCEPTED_FORMS}.`,
    );
  }
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    // Neither echoed nor kept as the cause (Node's error carries the input): it may hold a password.
    throw new InvalidArgumentError(`The Redis store URI is not a valid URI; expected ${ACCEPTED_FORMS}.`);
  }
  const shown = maskPassword(uri);
  const bad = (why: string) =>
    new InvalidArgumentError(`Redis store URI "${shown}": ${why}. Expected ${ACCEPTED_FORMS}.`);
  if (url.protocol !== "redis:" && url.protocol !== "rediss:")
    throw bad(`unsupported scheme "${url.protocol}"`);
  // Non-special schemes keep IPv6 brackets in hostname; net.connect wants them off.
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") throw bad("the host is missing");
  const port = url.port === "" ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw bad(`port "${url.port}" is not a TCP port`);

  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d+$/.test(path)) throw bad(`"/${path}" is not a database number`);
  const database = path === "" ? 0 : Number(path);

  let tls = url.protocol === "rediss:";
  let prefix = DEFAULT_PREFIX;
  let graceSeconds: number | undefined;
  for (const [name, value] of url.searchParams) {
    if (name === "prefix") prefix = value;
    else if (name === "tls") {
      if (!["1", "true", "0", "false"].includes(value)) throw bad(`tls must be 1 or 0, not "${value}"`);
      const wanted = value === "1" || value === "true";
      if (!wanted && url.protocol === "rediss:") throw bad("rediss:// always uses TLS; drop tls=0");
      tls = wanted;
    } else if (name === "grace") {
      graceSeconds = Number(value);
      if (!/^\d+$/.test(value) || graceSeconds <= 0) throw bad(`grace must be a positive number of seconds`);
    } else throw bad(`unknown parameter "${name}" (accepted: prefix, tls, grace)`);
  }

  if (url.username !== "" && url.password === "") {
    throw bad("a user without a password is ambiguous; write :password@ or user:password@");
  }
  const decode = (text: string) => (text === "" ? undefined : decodeURIComponent(text));
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    host,
    port,
    tls,
    username: decode(url.username),
    password: decode(url.password),
    database,
    prefix,
    address,
    safeUri: `${tls ? "rediss" : "redis"}://${address}/${database}`,
    graceSeconds,
  };
}

/** Hides whatever sits between `//` and the last `@` (greedy: a raw `/` in a password stays hidden). */
function maskPassword(uri: string): string {
  return uri.replace(/\/\/.*@/, (userinfo) => {
    const colon = userinfo.indexOf(":");
    return colon === -1 ? "//***@" : `${userinfo.slice(0, colon)}:***@`;
  });
}
