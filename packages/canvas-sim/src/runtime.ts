import type { IncomingMessage } from "node:http";
import type { SimClock } from "./clock.js";
import type { CourseInfo } from "./data/catalog.js";
import type { SimModel } from "./data/model.js";
import type { UserInfo } from "./data/people.js";
import type { FaultInjector } from "./faults.js";
import type { Params } from "./http/params.js";
import { json, notFound, type Reply, ReplyError } from "./http/reply.js";
import type { NormalizedOptions } from "./options.js";
import type { ProgressJobs } from "./progress.js";
import type { StatsCollector } from "./stats.js";
import type { Throttle } from "./throttle.js";
import type { AccessTokenRecord, OAuthClient, TokenRegistry } from "./tokens.js";

/** The simulator's mutable state, shared by every handler. */
export interface SimRuntime {
  options: NormalizedOptions;
  model: SimModel;
  clock: SimClock;
  tokens: TokenRegistry;
  throttle: Throttle;
  faults: FaultInjector;
  stats: StatsCollector;
  jobs: ProgressJobs;
  /** `${userId}:${courseId}` pairs made unreadable by `admin.setCourseForbidden`. */
  forbidden: Set<string>;
  analyticsEnabled: boolean;
  confidentialClient: OAuthClient;
  publicClient: OAuthClient;
  developerToken: AccessTokenRecord;
  startedAt: number;
  /** Account admins: user 1 (the functional admin), the `admins` option and `admin.addAdmin` calls. */
  admins: Set<number>;
}

/** An account admin may read every user and manage everyone's access tokens. */
export function isAccountAdmin(rt: SimRuntime, userId: number): boolean {
  return rt.admins.has(userId);
}

/** One request as handlers see it. */
export interface RequestContext {
  rt: SimRuntime;
  req: IncomingMessage;
  method: string;
  path: string;
  routeKey: string;
  routeParams: Record<string, string | undefined>;
  /** Query and body parameters, merged as Rails merges them. */
  params: Params;
  /** The query's own pairs, in order, for Link headers. */
  queryPairs: Array<[string, string]>;
  /** `http://host:port` as the client addressed us. */
  base: string;
  now: number;
  tokenString: string | null;
  /** Set for authenticated API routes. */
  token: AccessTokenRecord | null;
  user: UserInfo | null;
  /** Extra throttle cost (200 per OAuth token request). */
  extraCost: number;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface RouteDef {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Canvas's route template: the stats key and the `url:METHOD|path` scope. */
  template: string;
  /** Requires an API access token. */
  auth: boolean;
  handler: Handler;
}

export type Access = "admin" | "staff" | "student";

/** canvas-api.md §2: "user not authorized" (403, or 401 in the legacy mode, never WWW-Authenticate). */
export function unauthorized(rt: SimRuntime): ReplyError {
  return new ReplyError(
    json(rt.options.permissionErrorStatus, {
      status: "unauthorized",
      errors: [{ message: "user not authorized to perform that action" }],
    }),
  );
}

/** Parses a Canvas id parameter (digits, or `sis_*:` forms handled by callers). */
export function parseId(value: string | undefined): number | null {
  if (value === undefined || !/^\d{1,15}$/.test(value)) return null;
  return Number(value);
}

/** The course of `:course_id` (numeric or `sis_course_id:X`), or a 404. */
export function courseParam(ctx: RequestContext, name = "course_id"): CourseInfo {
  const raw = ctx.routeParams[name];
  let id = parseId(raw);
  if (id === null && raw?.startsWith("sis_course_id:")) {
    const sis = decodeURIComponent(raw.slice("sis_course_id:".length));
    id =
      ctx.rt.model.catalog
        .courseIds()
        .find((courseId) => ctx.rt.model.catalog.course(courseId)!.sisCourseId === sis) ?? null;
  }
  const course = id === null ? undefined : ctx.rt.model.catalog.course(id);
  if (!course) throw notFound();
  return course;
}

/** What the caller may do in a course, or null. */
export function accessTo(rt: SimRuntime, userId: number, courseId: number): Access | null {
  if (rt.forbidden.has(`${userId}:${courseId}`)) return null;
  if (isAccountAdmin(rt, userId)) return "admin";
  if (rt.model.people.staffIndex(courseId, userId) !== -1) return "staff";
  if (rt.model.people.studentIndex(courseId, userId) !== -1) return "student";
  return null;
}

/** The caller's access, required to be one of `allowed`, else 403. */
export function requireAccess(ctx: RequestContext, courseId: number, allowed: readonly Access[]): Access {
  const access = accessTo(ctx.rt, ctx.user!.id, courseId);
  if (access === null || !allowed.includes(access)) throw unauthorized(ctx.rt);
  return access;
}

export const GRADERS: readonly Access[] = ["admin", "staff"];
export const ANYONE_IN_COURSE: readonly Access[] = ["admin", "staff", "student"];
