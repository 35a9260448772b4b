import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import Router from "find-my-way";
import type { ActiveFaultRule } from "./faults.js";
import { Params } from "./http/params.js";
import { JSON_TYPE, json, type Reply, ReplyError, TEXT_TYPE, WWW_AUTHENTICATE_API } from "./http/reply.js";
import type { RequestContext, RouteDef, SimRuntime } from "./runtime.js";
import { rubyFloat } from "./throttle.js";
import { tokenFingerprint } from "./tokens.js";

const MAX_BODY_BYTES = 10 * 1024 * 1024;

interface RouteStore {
  key: string;
  scope: string;
  def: RouteDef;
}

/** Canvas's plain-text throttled response (request_throttle.rb `rate_limit_exceeded`). */
export function throttledReply(status: 429 | 403): Reply {
  const body =
    status === 429
      ? "429 Too Many Requests (Rate Limit Exceeded)\n"
      : "403 Forbidden (Rate Limit Exceeded)\n";
  return { status, body, contentType: TEXT_TYPE };
}

function invalidTokenReply(message: string, extra?: Record<string, unknown>): Reply {
  return json(401, { errors: [{ message, ...extra }] }, { "WWW-Authenticate": WWW_AUTHENTICATE_API });
}

function faultReply(rt: SimRuntime, fault: ActiveFaultRule): Reply | null {
  switch (fault.fault) {
    case "5xx":
      return serverError(rt.faults.pickServerError());
    case "500":
      return serverError(500);
    case "502":
      return serverError(502);
    case "503":
      return serverError(503);
    case "401-expired":
      return invalidTokenReply("Invalid access token.");
    case "403-throttled":
      return throttledReply(403);
    case "429":
      return throttledReply(429);
    case "throttle":
      return throttledReply(rt.options.throttleStatus);
    default:
      return null;
  }
}

function serverError(status: 500 | 502 | 503): Reply {
  if (status === 500) {
    return json(500, { errors: [{ message: "An error occurred." }], error_report_id: 1 });
  }
  const title = status === 502 ? "502 Bad Gateway" : "503 Service Temporarily Unavailable";
  return {
    status,
    body: `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n</body>\r\n</html>\r\n`,
    contentType: "text/html",
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new ReplyError(json(413, { errors: [{ message: "Request entity too large" }] })));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function bearerToken(req: IncomingMessage): string | null {
  const header = req.headers.authorization;
  if (header === undefined) return null;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match ? match[1]! : null;
}

/**
 * The request pipeline: route, fault, throttle, authenticate, handle, account, write. Everything on
 * it is O(1) in the size of the data except the handler's own page of rows.
 */
export class RequestPipeline {
  readonly #rt: SimRuntime;
  readonly #router = Router({ ignoreTrailingSlash: true, maxParamLength: 500 });
  readonly #control: (req: IncomingMessage, res: ServerResponse, path: string, query: string) => void;

  constructor(
    rt: SimRuntime,
    routes: RouteDef[],
    control: (req: IncomingMessage, res: ServerResponse, path: string, query: string) => void,
  ) {
    this.#rt = rt;
    this.#control = control;
    for (const def of routes) {
      const store: RouteStore = {
        key: `${def.method} ${def.template}`,
        scope: `url:${def.method}|${def.template}`,
        def,
      };
      this.#router.on(def.method, def.template, () => undefined, store);
    }
  }

  handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const path = q === -1 ? url : url.slice(0, q);
    const query = q === -1 ? "" : url.slice(q + 1);
    if (path.startsWith("/__sim")) {
      this.#control(req, res, path, query);
      return;
    }
    const stats = this.#rt.stats;
    const round = stats.enter();
    res.once("close", () => stats.leave(round));
    this.#serve(req, res, path, query).catch((error: unknown) => {
      // Nothing above should throw; if it does, answer like Canvas's generic error page.
      if (!res.headersSent) {
        res.writeHead(500, { "Content-Type": JSON_TYPE });
        res.end(JSON.stringify({ errors: [{ message: "An error occurred." }] }));
      }
      process.emitWarning(`canvas-sim: unexpected error: ${(error as Error)?.message ?? String(error)}`);
    });
  };

  async #serve(req: IncomingMessage, res: ServerResponse, path: string, query: string): Promise<void> {
    const rt = this.#rt;
    const method = req.method ?? "GET";
    const found = this.#router.find(method as "GET", path);
    const store = found ? (found.store as RouteStore) : null;
    const routeKey = store
      ? store.key
      : path.startsWith("/api/") || path.startsWith("/login/")
        ? `${method} <unmatched>`
        : `${method} <other>`;
    const params = new Params();
    const queryPairs: Array<[string, string]> = [];
    params.addEncoded(query, queryPairs);
    const tokenString = bearerToken(req) ?? params.get("access_token") ?? null;
    const known = tokenString === null ? undefined : rt.tokens.byToken(tokenString);
    const fingerprint = tokenString === null ? null : (known?.fingerprint ?? tokenFingerprint(tokenString));
    const now = rt.clock.now();
    rt.jobs.settle(now);
    const bucketKey = fingerprint !== null ? `token:${fingerprint}` : `ip:${req.socket.remoteAddress ?? "?"}`;
    const fault = rt.faults.pick(method, path, routeKey);
    const reservation = rt.throttle.begin(bucketKey, now);
    const ctx: RequestContext = {
      rt,
      req,
      method,
      path,
      routeKey,
      routeParams: found ? (found.params as Record<string, string | undefined>) : {},
      params,
      queryPairs,
      base: `http://${req.headers.host ?? "127.0.0.1"}`,
      now,
      tokenString,
      token: null,
      user: null,
      extraCost: 0,
    };
    let reply: Reply;
    let throttled = false;
    try {
      if (fault?.fault === "slow") await new Promise((resolve) => setTimeout(resolve, fault.latencyMs));
      if (fault?.fault === "drop") {
        rt.throttle.end(reservation, 0, rt.clock.now());
        stats(rt, routeKey, "dropped", fingerprint);
        req.socket.destroy();
        return;
      }
      const injected = fault ? faultReply(rt, fault) : null;
      if (injected) reply = injected;
      else if (reservation.throttled) {
        throttled = true;
        rt.stats.throttled++;
        reply = throttledReply(rt.options.throttleStatus);
      } else if (!store) {
        reply = json(404, { errors: [{ message: "The specified resource does not exist." }] });
      } else {
        if (method !== "GET" && method !== "HEAD") await this.#readBody(req, params);
        if (store.def.auth) this.#authenticate(ctx, store);
        reply = await store.def.handler(ctx);
      }
    } catch (error) {
      if (error instanceof ReplyError) reply = error.reply;
      else {
        // A simulator bug: answer like Canvas's error page, and still settle the throttle below.
        process.emitWarning(`canvas-sim: ${routeKey} failed: ${(error as Error)?.message ?? String(error)}`);
        reply = serverError(500);
      }
    }
    if (reply.status === 429 || reply.status === 403) {
      throttled ||= reply.contentType === TEXT_TYPE && reply.body.includes("(Rate Limit Exceeded)");
    }
    const rows = throttled ? 0 : servedRows(reply);
    const cost = throttled ? 0 : rt.throttle.cost(rows, ctx.extraCost);
    const remaining = rt.throttle.end(reservation, cost, rt.clock.now());
    const headers: Record<string, string | number> = {
      "Content-Type": reply.contentType,
      "Cache-Control": "max-age=0, private, must-revalidate",
      "X-Request-Id": randomUUID(),
    };
    headers["X-Request-Context-Id"] = headers["X-Request-Id"]!;
    if (!throttled) headers["X-Request-Cost"] = rubyFloat(cost);
    headers["X-Rate-Limit-Remaining"] = throttled ? "0.0" : rubyFloat(remaining);
    if (reply.headers) Object.assign(headers, reply.headers);
    stats(rt, routeKey, String(reply.status), fingerprint, cost, rows);
    let body = reply.body;
    if (fault?.fault === "malformed") {
      body = `${body.slice(0, Math.floor(body.length / 2))}<<truncated by canvas-sim`;
      reply = { ...reply, status: 200, contentType: JSON_TYPE };
      headers["Content-Type"] = JSON_TYPE;
    }
    const buffer = Buffer.from(body, "utf8");
    if (fault?.fault === "truncate") {
      headers["Content-Length"] = buffer.length + 64;
      res.writeHead(200, headers);
      res.write(buffer.subarray(0, Math.floor(buffer.length / 2)), () => req.socket.destroy());
      return;
    }
    headers["Content-Length"] = buffer.length;
    res.writeHead(reply.status, headers);
    res.end(buffer);
  }

  async #readBody(req: IncomingMessage, params: Params): Promise<void> {
    const text = await readBody(req);
    if (text === "") return;
    const type = (req.headers["content-type"] ?? "").toLowerCase();
    if (type.includes("application/json")) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new ReplyError(json(400, { errors: [{ message: "The request body is not valid JSON." }] }));
      }
      params.addJson(value);
    } else if (type.includes("multipart/form-data")) {
      const boundary = /boundary="?([^";]+)"?/i.exec(req.headers["content-type"] ?? "")?.[1];
      if (boundary) params.addMultipart(text, boundary);
    } else if (
      type === "" ||
      type.includes("application/x-www-form-urlencoded") ||
      type.includes("text/plain")
    ) {
      params.addEncoded(text);
    }
  }

  /** canvas-api.md §2: the two kinds of 401, and scopes (canvas:lib/authentication_methods.rb). */
  #authenticate(ctx: RequestContext, store: RouteStore): void {
    const { rt } = ctx;
    if (ctx.tokenString === null) {
      throw new ReplyError(
        json(
          401,
          { status: "unauthenticated", errors: [{ message: "user authorization required" }] },
          { "WWW-Authenticate": WWW_AUTHENTICATE_API },
        ),
      );
    }
    const result = rt.tokens.authenticate(ctx.tokenString, ctx.now);
    if (!result.ok) {
      if (result.reason === "expired") {
        const expiredAt = new Date(result.expiredAt).toISOString().replace(/\.\d{3}Z$/, "Z");
        throw new ReplyError(invalidTokenReply("Expired access token.", { expired_at: expiredAt }));
      }
      throw new ReplyError(
        invalidTokenReply(result.reason === "revoked" ? "Revoked access token." : "Invalid access token."),
      );
    }
    const record = result.record;
    if (record.scopes !== null && !hasScope(record.scopes, store, ctx.method)) {
      throw new ReplyError(json(401, { errors: [{ message: "Insufficient scopes on access token." }] }));
    }
    record.lastUsedAt = ctx.now;
    ctx.token = record;
    ctx.user = rt.model.people.user(record.userId) ?? null;
    if (!ctx.user) throw new ReplyError(invalidTokenReply("Invalid access token."));
  }
}

function hasScope(scopes: readonly string[], store: RouteStore, method: string): boolean {
  if (scopes.includes(store.scope)) return true;
  // HEAD is allowed by a GET scope (access_token.rb `url_scopes_for_method`).
  return method === "HEAD" && scopes.includes(store.scope.replace("url:HEAD|", "url:GET|"));
}

/** Rows a reply serves: a list's items (as its handler counted them), or 1 for a successful single object. */
function servedRows(reply: Reply): number {
  if (reply.rows !== undefined) return reply.rows;
  return reply.status < 300 && reply.contentType === JSON_TYPE && reply.body.startsWith("{") ? 1 : 0;
}

/** Counts Canvas requests only: /api and /login (never /__sim, nor stray paths like /favicon.ico). */
function stats(
  rt: SimRuntime,
  routeKey: string,
  status: string,
  fingerprint: string | null,
  cost = 0,
  rows = 0,
): void {
  const space = routeKey.indexOf(" ");
  const path = routeKey.slice(space + 1);
  if (path.startsWith("/api/") || path.startsWith("/login/") || path === "<unmatched>") {
    rt.stats.count(routeKey, status, fingerprint, cost, rows);
  }
}
