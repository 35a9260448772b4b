/** `EASEL_GATEWAY_CACHE` parsed: where the replicas' shared cache and sessions live. */
export interface SharedCacheTarget {
  host: string;
  port: number;
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  database: number;
  /** Prepended to every key the gateway writes. @default "easel:gw:" */
  prefix: string;
  /** `redis[s]://host:port/db?prefix=...`: for logs, never credentials. */
  safeUrl: string;
}

export const DEFAULT_SHARED_CACHE_PREFIX = "easel:gw:";

export const SHARED_CACHE_FORMS =
  "redis://[[user]:password@]host[:port][/db][?prefix=easel:gw:] (rediss:// for TLS)";

/**
 * Parses `redis://[[user]:password@]host[:port][/db][?prefix=...]`. Returns a reason instead of
 * throwing, so the options layer reports it as the option's error without echoing a password.
 */
export function parseSharedCacheUrl(value: string): SharedCacheTarget | { error: string } {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return { error: "not a URL" };
  }
  if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
    return { error: `unsupported scheme "${url.protocol}"` };
  }
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  if (host === "") return { error: "the host is missing" };
  const port = url.port === "" ? 6379 : Number(url.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    return { error: `port "${url.port}" is not a TCP port` };
  const path = url.pathname.replace(/^\//, "");
  if (path !== "" && !/^\d{1,2}$/.test(path)) return { error: `"/${path}" is not a database number` };
  let prefix = DEFAULT_SHARED_CACHE_PREFIX;
  for (const [name, param] of url.searchParams) {
    if (name !== "prefix") return { error: `unknown parameter "${name}" (accepted: prefix)` };
    if (param === "") return { error: "prefix is empty (leave it out for the default)" };
    prefix = param;
  }
  const decode = (text: string) => (text === "" ? undefined : decodeURIComponent(text));
  const tls = url.protocol === "rediss:";
  const database = path === "" ? 0 : Number(path);
  const address = `${host.includes(":") ? `[${host}]` : host}:${port}`;
  return {
    host,
    port,
    tls,
    username: decode(url.username),
    password: decode(url.password),
    database,
    prefix,
    safeUrl: `${tls ? "rediss" : "redis"}://${address}/${database}?prefix=${encodeURIComponent(prefix)}`,
  };
}
