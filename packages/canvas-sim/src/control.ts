/**
 * The control plane (`/__sim/*`): test conveniences over plain HTTP, for clients in another process.
 * Every route here maps onto the in-process `SimAdmin` / `SimFaults` / clock / data calls.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { isoSeconds } from "./clock.js";
import { invalidArg } from "./errors.js";
import type { FaultRule } from "./faults.js";
import { Params } from "./http/params.js";
import type { SimRuntime } from "./runtime.js";
import type { SimAdmin, SimFaults } from "./sim.js";
import type { SimStats } from "./stats.js";

export interface ControlDeps {
  rt: SimRuntime;
  admin: SimAdmin;
  stats: () => SimStats;
  resetStats: () => void;
  faults: SimFaults;
  advanceClock: (seconds: number) => void;
  url: () => string;
}

function send(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, {
    "Content-Type": "application/json; charset=utf-8",
    "Content-Length": Buffer.byteLength(body),
  });
  res.end(body);
}

/** Reads a control request's parameters (query + JSON or form body) and the raw JSON body. */
async function controlParams(
  req: IncomingMessage,
  query: string,
): Promise<{ params: Params; body: unknown }> {
  const params = new Params();
  params.addEncoded(query);
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString("utf8");
  let body: unknown;
  if (text !== "") {
    if ((req.headers["content-type"] ?? "").includes("json") || /^\s*[[{]/.test(text)) {
      body = JSON.parse(text);
      params.addJson(body);
    } else params.addEncoded(text);
  }
  return { params, body };
}

function numberParam(params: Params, name: string): number | undefined {
  const raw = params.get(name);
  if (raw === undefined || raw === "") return undefined;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw invalidArg(name, raw, "must be a number");
  return value;
}

/** `/__sim/*`: stats, clock, tokens, faults, switches. Never counted, throttled or faulted. */
export function createControlPlane(deps: ControlDeps) {
  const { rt, admin } = deps;
  const routes: Record<string, (params: Params, body: unknown, tail: string) => unknown> = {
    "GET /__sim/stats": () => deps.stats(),
    "POST /__sim/reset": () => {
      deps.resetStats();
      return { ok: true };
    },
    "GET /__sim/info": () => ({
      url: deps.url(),
      clientId: rt.confidentialClient.id,
      publicClientId: rt.publicClient.id,
      redirectUri: rt.options.redirectUri,
      seed: rt.options.seed,
      courses: rt.model.courseCount,
      studentsPerCourse: rt.model.studentsPerCourse,
      assignmentsPerCourse: rt.model.assignmentsPerCourse,
      now: isoSeconds(rt.clock.now()),
    }),
    "GET /__sim/clock": () => ({ now: isoSeconds(rt.clock.now()), nowMs: Math.floor(rt.clock.now()) }),
    "POST /__sim/clock": (params) => {
      deps.advanceClock(numberParam(params, "seconds") ?? 0);
      return { now: isoSeconds(rt.clock.now()), nowMs: Math.floor(rt.clock.now()) };
    },
    "POST /__sim/oauth/tokens": (params) =>
      admin.mintOAuthTokens({
        userId: numberParam(params, "user_id") ?? rt.model.people.adminUserId,
        expiresIn: numberParam(params, "expires_in"),
        clientId: params.get("client_id"),
        scopes: params.getAll("scopes").length > 0 ? params.getAll("scopes") : undefined,
      }),
    "POST /__sim/tokens": (params) => ({
      token: admin.createDeveloperToken({
        userId: numberParam(params, "user_id") ?? rt.model.people.adminUserId,
        expiresAt: params.get("expires_at") ?? null,
        purpose: params.get("purpose"),
        scopes: params.getAll("scopes").length > 0 ? params.getAll("scopes") : undefined,
      }),
    }),
    "POST /__sim/tokens/revoke": (params) => ({ revoked: admin.revokeToken(params.get("token") ?? "") }),
    "POST /__sim/tokens/expire": (params) => ({ expired: admin.expireToken(params.get("token") ?? "") }),
    "POST /__sim/tokens/activate": (params) => {
      const tokenOrId = params.get("id") ?? params.get("token");
      if (!tokenOrId) throw invalidArg("id", tokenOrId, "or token is required");
      return { result: admin.activateToken(tokenOrId) };
    },
    "POST /__sim/admins": (params) => {
      const userId = numberParam(params, "user_id");
      if (userId === undefined) throw invalidArg("user_id", userId, "is required");
      admin.addAdmin(userId);
      return { admins: [...rt.admins] };
    },
    "POST /__sim/forbidden": (params) => {
      const userId = numberParam(params, "user_id");
      const courseId = numberParam(params, "course_id");
      if (userId === undefined || courseId === undefined)
        throw invalidArg("user_id", userId, "and course_id are required");
      const forbidden = params.get("forbidden") !== "false";
      admin.setCourseForbidden(userId, courseId, forbidden);
      return { userId, courseId, forbidden };
    },
    "POST /__sim/analytics": (params) => {
      const enabled = params.get("enabled") !== "false";
      admin.setAnalyticsEnabled(enabled);
      return { enabled };
    },
    "POST /__sim/activity": (params) => {
      const report = admin.applyActivity({
        fraction: numberParam(params, "fraction") ?? Number.NaN,
        seed: numberParam(params, "seed") ?? 1,
      });
      return {
        at: isoSeconds(rt.clock.now()),
        counts: Object.fromEntries(Object.entries(report).map(([kind, ids]) => [kind, ids.length])),
        ...report,
      };
    },
    "GET /__sim/faults": () => deps.faults.list(),
    "POST /__sim/faults": (params, body) => {
      if (typeof params.get("spec") === "string") return { ids: deps.faults.add(params.get("spec")!) };
      const rules = (body as { rules?: FaultRule[] } | undefined)?.rules ?? body;
      return { ids: deps.faults.add(rules as FaultRule | FaultRule[]) };
    },
    "DELETE /__sim/faults": (_params, _body, tail) => {
      if (tail) return { removed: deps.faults.remove(Number(tail)) };
      deps.faults.clear();
      return { cleared: true };
    },
    "POST /__sim/clients": (params) =>
      admin.registerClient({
        clientId: params.get("client_id"),
        clientSecret: params.get("client_secret"),
        name: params.get("name"),
        redirectUris: params.getAll("redirect_uris").length > 0 ? params.getAll("redirect_uris") : undefined,
        isPublic: params.get("public") === "true",
        scopes: params.getAll("scopes").length > 0 ? params.getAll("scopes") : undefined,
      }),
    "GET /__sim/data/courses": (_params, _body, tail) => {
      const match = /^(\d+)\/summary$/.exec(tail);
      const courseId = match ? Number(match[1]) : Number.NaN;
      if (!rt.model.catalog.hasCourse(courseId)) return undefined;
      const { first, last } = rt.model.submissions.idRange(courseId);
      const count = last - first + 1;
      return {
        courseId,
        students: rt.model.studentsPerCourse,
        assignments: rt.model.assignmentsPerCourse,
        submissions: count,
        submissionIdFirst: first,
        submissionIdLast: last,
        submissionIdSum: (count * (2 * first + count - 1)) / 2,
      };
    },
  };
  return (req: IncomingMessage, res: ServerResponse, path: string, query: string) => {
    const method = req.method ?? "GET";
    const clean = path.endsWith("/") ? path.slice(0, -1) : path;
    let handler = routes[`${method} ${clean}`];
    let tail = "";
    if (!handler) {
      for (const prefix of ["/__sim/faults", "/__sim/data/courses"]) {
        if (clean.startsWith(`${prefix}/`) && routes[`${method} ${prefix}`]) {
          handler = routes[`${method} ${prefix}`];
          tail = clean.slice(prefix.length + 1);
        }
      }
    }
    if (!handler) {
      send(res, 404, { error: `no control route ${method} ${clean}` });
      return;
    }
    const run = handler;
    controlParams(req, query)
      .then(({ params, body }) => {
        const result = run(params, body, tail);
        if (result === undefined) send(res, 404, { error: "not found" });
        else send(res, 200, result);
      })
      .catch((error: unknown) => {
        send(res, 400, { error: error instanceof Error ? error.message : String(error) });
      });
  };
}
