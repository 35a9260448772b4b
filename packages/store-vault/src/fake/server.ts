import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  AuthState,
  type CreateAppRoleOptions,
  type CreateTokenOptions,
  normalizeNamespace,
  type PolicyRules,
} from "./auth.js";
import { isPlainObject, randomUUID } from "./format.js";
import { KvEngine, kvCapability } from "./kv-engine.js";
import { errors, noContent, type Reply } from "./reply.js";

const MAX_REQUEST_BYTES = 32 * 1024 * 1024;
const FAKE_VERSION = "1.15.6";

export interface FakeVaultOptions {
  /** @default "127.0.0.1" */
  host?: string;
  /** @default 0 (a free port) */
  port?: number;
  /** @default a random `hvs.` token */
  rootToken?: string;
  /** KV version 2 mounts present in every namespace. @default ["secret"] */
  kvMounts?: string[];
  /**
   * How 403 bodies are worded: current servers wrap messages in a Go multierror
   * (`"1 error occurred:\n\t* permission denied\n\n"`), servers before ~1.x sent plain
   * `"permission denied"`. Clients should match the substring; this lets tests prove they do.
   * @default "multierror"
   */
  errorStyle?: "multierror" | "plain";
  /** @default false */
  sealed?: boolean;
}

/** A one-shot failure answered before routing, e.g. a 429 rate limit or a 412 missing index state. */
export interface InjectedFault {
  status: number;
  /** @default a message matching the status (`rate limit quota exceeded`, ...) */
  errors?: string[];
  /** How many matching requests fail. @default 1 */
  times?: number;
  /** Only requests whose `"METHOD /v1/template"` (as in `requests`) contains this string. */
  match?: string;
}

export interface FakeVault {
  /** `http://127.0.0.1:PORT`: the Vault address. A store URI is `vault+${url}/secret/PATH`. */
  readonly url: string;
  /** A root token: never expires, every capability. */
  readonly rootToken: string;
  readonly sealed: boolean;
  /**
   * Requests received, by `"METHOD /v1/<template>"`, e.g. `"POST /v1/secret/data/:path"`,
   * `"POST /v1/auth/approle/login"`, `"POST /v1/auth/token/renew-self"`. Refused ones count too.
   */
  readonly requests: Readonly<Record<string, number>>;
  /** Writes refused with `check-and-set parameter did not match the current version`. */
  readonly casMismatches: number;
  /** The fake clock in epoch ms: real time plus every `advanceClock`. Token TTLs run on it. */
  now(): number;
  /** Moves the fake clock forward (token expiry, `delete_version_after`). */
  advanceClock(seconds: number): void;
  seal(): void;
  unseal(): void;
  createToken(options?: CreateTokenOptions): string;
  createAppRole(options?: CreateAppRoleOptions): { roleId: string; secretId: string };
  revokeToken(token: string): void;
  /** Defines (or replaces) an ACL policy usable in `createToken`/`createAppRole` `policies`. */
  setPolicy(name: string, rules: PolicyRules): void;
  injectFault(fault: InjectedFault): void;
  /** Every response waits this long first (0 = none): for client-timeout tests. */
  setResponseDelay(ms: number): void;
  resetRequests(): void;
  /** The latest live version of a KV secret, bypassing HTTP and auth (test inspection). */
  readSecret(
    mountAndPath: string,
    options?: { namespace?: string },
  ): { data: Record<string, unknown>; version: number } | undefined;
  close(): Promise<void>;
}

/**
 * Starts a fake HashiCorp Vault (KV v2, token auth, AppRole, seal, health) on 127.0.0.1 over
 * real HTTP, built from Vault's API documentation. The README lists exactly what it covers.
 *
 * @example
 * ```ts
 * const vault = await startFakeVault();
 * const store = await createTokenStore(`vault+${vault.url}/secret/easel/tokens`, {
 *   env: { VAULT_TOKEN: vault.rootToken },
 * });
 * ```
 */
export async function startFakeVault(options: FakeVaultOptions = {}): Promise<FakeVault> {
  let clockOffsetMs = 0;
  const now = () => Date.now() + clockOffsetMs;
  const auth = new AuthState(now);
  const rootToken = auth.createRootToken(options.rootToken);
  const kvMounts = new Set(options.kvMounts ?? ["secret"]);
  const engines = new Map<string, KvEngine>();
  const requests: Record<string, number> = {};
  const faults: Array<Required<Omit<InjectedFault, "match">> & { match?: string }> = [];
  const errorStyle = options.errorStyle ?? "multierror";
  const clusterId = randomUUID();
  let sealed = options.sealed ?? false;
  let responseDelayMs = 0;

  const engineFor = (namespace: string, mount: string): KvEngine => {
    const id = `${namespace}\u0000${mount}`;
    let engine = engines.get(id);
    if (!engine) {
      engine = new KvEngine(now);
      engines.set(id, engine);
    }
    return engine;
  };

  const forbidden = (reason: "missing" | "invalid" | "denied"): Reply => {
    if (errorStyle === "plain") return errors(403, "permission denied");
    const messages = reason === "invalid" ? ["permission denied", "invalid token"] : ["permission denied"];
    return errors(403, multierror(messages));
  };

  const health = (method: string, query: URLSearchParams): Reply => {
    const code = (name: string, fallback: number): number | undefined => {
      const raw = query.get(name);
      if (raw === null) return fallback;
      return /^\d+$/.test(raw) ? Number(raw) : undefined;
    };
    const status = sealed ? code("sealedcode", 503) : code("activecode", 200);
    if (status === undefined) return errors(400);
    if (method === "HEAD") return { kind: "empty", status };
    return {
      kind: "raw",
      status,
      body: {
        initialized: true,
        sealed,
        standby: false,
        performance_standby: false,
        replication_performance_mode: "disabled",
        replication_dr_mode: "disabled",
        server_time_utc: Math.floor(now() / 1000),
        version: FAKE_VERSION,
        ...(sealed ? {} : { cluster_name: "vault-cluster-fake", cluster_id: clusterId }),
      },
    };
  };

  const sealStatus = (): Reply => ({
    kind: "raw",
    status: 200,
    body: {
      type: "shamir",
      initialized: true,
      sealed,
      t: 1,
      n: 1,
      progress: 0,
      nonce: "",
      version: FAKE_VERSION,
      build_date: "2024-01-01T00:00:00Z",
      migration: false,
      recovery_seal: false,
      storage_type: "inmem",
      ...(sealed ? {} : { cluster_name: "vault-cluster-fake", cluster_id: clusterId }),
    },
  });

  const route = (request: ParsedRequest): Reply => {
    const { method, path, namespace, query } = request;
    if (path === "sys/health" && (method === "GET" || method === "HEAD")) return health(method, query);
    if (path === "sys/seal-status" && method === "GET") return sealStatus();
    if (sealed) return errors(503, "Vault is sealed");
    const fault = faults.find((f) => !f.match || request.template.includes(f.match));
    if (fault) {
      if (--fault.times <= 0) faults.splice(faults.indexOf(fault), 1);
      return errors(fault.status, ...fault.errors);
    }
    if (request.bodyError) return errors(400, request.bodyError);

    const login = /^auth\/(.+)\/login$/.exec(path);
    if (login && auth.hasAuthMount(login[1]!, namespace) && login[1] !== "token") {
      if (method !== "POST" && method !== "PUT") return errors(405, "unsupported operation");
      return auth.login(login[1]!, namespace, request.body);
    }

    const check = auth.check(request.token, namespace);
    if (!check.ok) return forbidden(check.reason);
    const token = check.token;
    const [mount = "", ...rest] = path.split("/");
    const kvSubpath = rest.join("/");
    const isKv = kvMounts.has(mount);
    const capability = isKv
      ? kvCapability(engineFor(namespace, mount), { method, subpath: kvSubpath, query })
      : method === "GET" || method === "HEAD"
        ? "read"
        : method === "DELETE"
          ? "delete"
          : "update";
    const aclPath = capability === "list" && !path.endsWith("/") ? `${path}/` : path;
    if (!auth.allows(token, aclPath, capability)) return forbidden("denied");

    switch (`${method} ${path}`) {
      case "GET auth/token/lookup-self":
        return auth.lookupSelf(token);
      case "POST auth/token/renew-self":
      case "PUT auth/token/renew-self":
        return auth.renewSelf(token, request.body);
      case "POST auth/token/revoke-self":
      case "PUT auth/token/revoke-self":
        auth.revoke(token.id);
        return noContent;
      case "POST sys/seal":
      case "PUT sys/seal":
        if (!token.policies.includes("root")) return forbidden("denied");
        sealed = true;
        return noContent;
    }
    const revokePrefix = /^sys\/leases\/revoke-prefix\/(.+)$/.exec(path);
    if (revokePrefix && (method === "PUT" || method === "POST")) {
      // A sudo path: only the root policy has sudo in the fake.
      if (!token.policies.includes("root")) return forbidden("denied");
      auth.revokePrefix(revokePrefix[1]!, namespace);
      return noContent;
    }
    if (isKv) {
      return engineFor(namespace, mount).handle({
        method,
        subpath: kvSubpath,
        query,
        body: request.body,
        contentType: request.contentType,
      });
    }
    return errors(404, `no handler for route "${path}". route entry not found.`);
  };

  const server = createServer((req, res) => {
    void handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) send(res, errors(500, String(error)), "GET");
      else res.destroy();
    });
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const request = await parseRequest(req, kvMounts);
    requests[request.template] = (requests[request.template] ?? 0) + 1;
    if (request.tooLarge) {
      send(res, errors(413, "http: request body too large"), request.method);
      return;
    }
    if (responseDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, responseDelayMs));
    if (!request.path.startsWith("v1/") && request.path !== "v1") {
      send(res, errors(404), request.method);
      return;
    }
    request.path = request.path.slice(3);
    send(res, route(request), request.method);
  };

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, options.host ?? "127.0.0.1", () => resolve());
  });
  const address = server.address() as AddressInfo;
  const host = address.family === "IPv6" ? `[${address.address}]` : address.address;

  return {
    url: `http://${host}:${address.port}`,
    rootToken,
    get sealed() {
      return sealed;
    },
    get requests() {
      return { ...requests };
    },
    get casMismatches() {
      let total = 0;
      for (const engine of engines.values()) total += engine.casMismatches;
      return total;
    },
    now,
    advanceClock(seconds) {
      clockOffsetMs += seconds * 1000;
    },
    seal() {
      sealed = true;
    },
    unseal() {
      sealed = false;
    },
    createToken: (tokenOptions) => auth.createToken(tokenOptions),
    createAppRole: (roleOptions) => auth.createAppRole(roleOptions),
    revokeToken: (token) => auth.revoke(token),
    setPolicy: (name, rules) => auth.setPolicy(name, rules),
    injectFault(fault) {
      faults.push({
        status: fault.status,
        errors: fault.errors ?? [defaultFaultMessage(fault.status)],
        times: fault.times ?? 1,
        match: fault.match,
      });
    },
    setResponseDelay(ms) {
      responseDelayMs = ms;
    },
    resetRequests() {
      for (const key of Object.keys(requests)) delete requests[key];
    },
    readSecret(mountAndPath, readOptions = {}) {
      const [mount = "", ...rest] = mountAndPath.split("/");
      return engineFor(normalizeNamespace(readOptions.namespace ?? ""), mount).peek(rest.join("/"));
    },
    close() {
      return new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}

interface ParsedRequest {
  method: string;
  /** Decoded path without the leading "/", e.g. `v1/secret/data/easel/tokens/default`. */
  path: string;
  /** `"METHOD /v1/..."` with the secret path replaced by `:path`, for `requests`. */
  template: string;
  query: URLSearchParams;
  namespace: string;
  token: string | undefined;
  body: Record<string, unknown>;
  bodyError: string | undefined;
  contentType: string;
  tooLarge: boolean;
}

async function parseRequest(req: IncomingMessage, kvMounts: Set<string>): Promise<ParsedRequest> {
  const method = req.method ?? "GET";
  const url = new URL(req.url ?? "/", "http://fake-vault");
  let path: string;
  try {
    // Vault routes on the decoded path: %2F acts like "/".
    path = decodeURIComponent(url.pathname).replace(/^\/+/, "");
  } catch {
    path = url.pathname.replace(/^\/+/, "");
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_REQUEST_BYTES) tooLarge = true;
    else chunks.push(chunk as Buffer);
  }
  const contentType = String(req.headers["content-type"] ?? "");
  const text = Buffer.concat(chunks).toString("utf8");
  let body: Record<string, unknown> = {};
  let bodyError: string | undefined;
  if (text.trim() !== "" && ["POST", "PUT", "PATCH"].includes(method)) {
    if (contentType.startsWith("application/x-www-form-urlencoded")) {
      body = Object.fromEntries(new URLSearchParams(text));
    } else {
      try {
        const parsed: unknown = JSON.parse(text);
        if (isPlainObject(parsed)) body = parsed;
        else bodyError = "error parsing JSON";
      } catch {
        bodyError = "error parsing JSON";
      }
    }
  }
  return {
    method,
    path,
    template: `${method} /${templateOf(path, kvMounts)}`,
    query: url.searchParams,
    namespace: normalizeNamespace(headerValue(req.headers["x-vault-namespace"]) ?? ""),
    token: tokenOf(req),
    body,
    bodyError,
    contentType,
    tooLarge,
  };
}

/** X-Vault-Token wins; otherwise `Authorization: Bearer <t>` (trimmed); other schemes are ignored. */
function tokenOf(req: IncomingMessage): string | undefined {
  const header = headerValue(req.headers["x-vault-token"]);
  if (header) return header;
  const authorization = headerValue(req.headers.authorization);
  if (authorization?.startsWith("Bearer ")) return authorization.slice(7).trim() || undefined;
  return undefined;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function templateOf(path: string, kvMounts: Set<string>): string {
  const parts = path.split("/");
  if (parts[0] === "v1" && parts[1] && kvMounts.has(parts[1])) {
    const op = parts[2];
    if (op === "config" || op === undefined) return parts.slice(0, 3).join("/");
    return `v1/${parts[1]}/${op}/:path`;
  }
  return path;
}

function send(res: ServerResponse, reply: Reply, method: string): void {
  res.setHeader("Cache-Control", "no-store");
  if (reply.kind === "empty") {
    res.writeHead(reply.status).end();
    return;
  }
  let body: unknown;
  if (reply.kind === "errors") body = { errors: reply.errors };
  else if (reply.kind === "raw") body = reply.body;
  else {
    body = {
      request_id: randomUUID(),
      lease_id: "",
      renewable: false,
      lease_duration: 0,
      data: reply.data,
      wrap_info: null,
      warnings: reply.warnings ?? null,
      auth: reply.auth ?? null,
    };
  }
  res.setHeader("Content-Type", "application/json");
  res.writeHead(reply.status);
  res.end(method === "HEAD" ? undefined : JSON.stringify(body));
}

function multierror(messages: string[]): string {
  const count = messages.length === 1 ? "1 error occurred" : `${messages.length} errors occurred`;
  return `${count}:\n${messages.map((m) => `\t* ${m}`).join("\n")}\n\n`;
}

function defaultFaultMessage(status: number): string {
  switch (status) {
    case 412:
      return "required index state not present";
    case 429:
      return "rate limit quota exceeded";
    case 502:
      return "upstream rate limited";
    case 503:
      return "Vault is sealed";
    default:
      return "internal error";
  }
}
