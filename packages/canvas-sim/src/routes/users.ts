import { isoOrNull, isoSeconds } from "../clock.js";
import type { UserInfo } from "../data/people.js";
import { truthy } from "../http/params.js";
import { badRequest, json, notFound, type Reply } from "../http/reply.js";
import { decodeBookmark, encodeBookmark, linkHeader, perPageOf } from "../pagination.js";
import {
  isAccountAdmin,
  parseId,
  type RequestContext,
  type RouteDef,
  type SimRuntime,
  unauthorized,
} from "../runtime.js";
import type { AccessTokenRecord } from "../tokens.js";
import { collectionUrl } from "./common.js";

/** `:user_id` / `:id` as a user: `self`, a numeric id or `sis_user_id:X`; else 404. */
function userParam(ctx: RequestContext, name: string): UserInfo {
  const raw = ctx.routeParams[name];
  if (raw === "self") return ctx.user!;
  const user = raw?.startsWith("sis_user_id:")
    ? ctx.rt.model.people.userBySis(decodeURIComponent(raw.slice("sis_user_id:".length)))
    : ctx.rt.model.people.user(parseId(raw) ?? -1);
  if (!user) throw notFound();
  return user;
}

/** The caller may read a user: themselves, the admin anyone, staff the students of their course. */
function canRead(ctx: RequestContext, user: UserInfo): boolean {
  const caller = ctx.user!;
  if (caller.id === user.id || isAccountAdmin(ctx.rt, caller.id)) return true;
  if (caller.kind === "teacher" || caller.kind === "ta") {
    const [courseId] = ctx.rt.model.people.userCourseIds(caller.id);
    return courseId !== undefined && ctx.rt.model.people.enrollmentFor(courseId, user.id) !== undefined;
  }
  return false;
}

/** GET /api/v1/users/:id (`users/self`). */
function showUser(ctx: RequestContext): Reply {
  const user = userParam(ctx, "id");
  if (!canRead(ctx, user)) throw unauthorized(ctx.rt);
  const [first, ...rest] = user.shortName.split(" ");
  const body: Record<string, unknown> = {
    id: user.id,
    name: user.name,
    created_at: isoSeconds(user.createdAt),
    sortable_name: user.sortableName,
    short_name: user.shortName,
    avatar_url: `${ctx.base}/images/messages/avatar-50.png`,
    last_name: rest.join(" ") || user.sortableName.split(",")[0],
    first_name: first,
    locale: null,
    effective_locale: "en",
    permissions: { can_update_name: true, can_update_avatar: false, limit_parent_app_web_access: false },
  };
  if (isAccountAdmin(ctx.rt, ctx.user!.id) || ctx.user!.id === user.id) {
    body.sis_user_id = user.sisUserId;
    body.integration_id = null;
    body.login_id = user.loginId;
  }
  return json(200, body);
}

/** GET /api/v1/users/:user_id/profile */
function showProfile(ctx: RequestContext): Reply {
  const user = userParam(ctx, "user_id");
  if (!canRead(ctx, user)) throw unauthorized(ctx.rt);
  return json(200, {
    id: user.id,
    name: user.name,
    short_name: user.shortName,
    sortable_name: user.sortableName,
    title: null,
    bio: null,
    pronunciation: null,
    primary_email: user.email,
    login_id: user.loginId,
    integration_id: null,
    time_zone: "America/Denver",
    locale: null,
    effective_locale: "en",
    avatar_url: `${ctx.base}/images/messages/avatar-50.png`,
    calendar: { ics: `${ctx.base}/feeds/calendars/user_${user.id}.ics` },
    lti_user_id: `lti-${user.id}`,
    k5_user: false,
    use_classic_font_in_k5: false,
  });
}

/** Token JSON (canvas:lib/api/v1/token.rb); `visible_token` is full only on create/regenerate. */
export function tokenJson(
  rt: SimRuntime,
  record: AccessTokenRecord,
  showFull: boolean,
): Record<string, unknown> {
  const manual = record.kind === "manual";
  return {
    id: record.id,
    created_at: isoSeconds(record.createdAt),
    updated_at: isoSeconds(record.updatedAt),
    expires_at: isoOrNull(record.kind === "manual" ? record.permanentExpiresAt : record.expiresAt),
    last_used_at: isoOrNull(record.lastUsedAt),
    purpose: record.purpose,
    real_user_id: null,
    remember_access: null,
    scopes: record.scopes,
    user_id: record.userId,
    workflow_state: record.workflowState,
    app_name: manual ? "User-Generated" : (rt.tokens.clients.get(record.clientId ?? "")?.name ?? null),
    visible_token: manual ? (showFull ? record.token : `${record.token.slice(0, 5)}...`) : null,
    can_manually_regenerate: manual,
  };
}

/** Finds a user's token by numeric id or 5-character hint; others' tokens are 404 unless admin. */
function tokenParam(ctx: RequestContext, owner: UserInfo): AccessTokenRecord {
  const raw = ctx.routeParams.id ?? "";
  const caller = ctx.user!;
  if (caller.id !== owner.id && !isAccountAdmin(ctx.rt, caller.id)) throw notFound();
  const id = parseId(raw);
  let record = id === null ? undefined : ctx.rt.tokens.byId(id);
  if (!record || record.userId !== owner.id) {
    record = ctx.rt.tokens
      .ofUser(owner.id)
      .find((candidate) => candidate.token.startsWith(raw) && raw.length === 5);
  }
  if (!record || record.userId !== owner.id || record.workflowState === "deleted") throw notFound();
  return record;
}

function parseExpiresAt(raw: string | undefined): number | null | undefined {
  if (raw === undefined) return undefined;
  if (raw === "") return null;
  const parsed = Date.parse(raw);
  return Number.isNaN(parsed) ? null : parsed;
}

/** POST /api/v1/users/:user_id/tokens — `token[purpose]` required; for someone else: pending. */
function createToken(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const owner = userParam(ctx, "user_id");
  const caller = ctx.user!;
  const forOther = owner.id !== caller.id;
  if (forOther && !isAccountAdmin(rt, caller.id)) throw unauthorized(rt);
  const purpose = ctx.params.get("token[purpose]");
  if (!purpose) throw badRequest([{ message: "token[purpose] is missing" }]);
  const scopes = ctx.params.getAll("token[scopes]");
  const record = rt.tokens.createManual({
    userId: owner.id,
    now: ctx.now,
    purpose,
    expiresAt: parseExpiresAt(ctx.params.get("token[expires_at]")) ?? null,
    scopes: scopes.length > 0 ? scopes : null,
    pending: forOther,
  });
  return json(200, tokenJson(rt, record, true));
}

function showToken(ctx: RequestContext): Reply {
  const owner = userParam(ctx, "user_id");
  return json(200, tokenJson(ctx.rt, tokenParam(ctx, owner), false));
}

/** PUT /api/v1/users/:user_id/tokens/:id — `token[expires_at]`, `token[regenerate]=1`. */
function updateToken(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const owner = userParam(ctx, "user_id");
  const record = tokenParam(ctx, owner);
  const expiresAt = parseExpiresAt(ctx.params.get("token[expires_at]"));
  const purpose = ctx.params.get("token[purpose]");
  const regenerate = truthy(ctx.params.get("token[regenerate]"));
  if (regenerate) {
    if (record.kind !== "manual") throw unauthorized(rt);
    const expired = record.permanentExpiresAt !== null && record.permanentExpiresAt <= ctx.now;
    if (expired && (expiresAt === undefined || (expiresAt !== null && expiresAt <= ctx.now))) {
      throw badRequest({
        errors: { message: "cannot regenerate an expired token without a new expiration date" },
      });
    }
  }
  if (expiresAt !== undefined && record.kind === "manual") record.permanentExpiresAt = expiresAt;
  if (purpose) record.purpose = purpose;
  record.updatedAt = ctx.now;
  if (regenerate) rt.tokens.regenerate(record, ctx.now, null);
  return json(200, tokenJson(rt, record, regenerate));
}

/** DELETE /api/v1/users/:user_id/tokens/:id — soft delete; the JSON shows workflow_state "deleted". */
function deleteToken(ctx: RequestContext): Reply {
  const owner = userParam(ctx, "user_id");
  const record = tokenParam(ctx, owner);
  ctx.rt.tokens.delete(record, ctx.now);
  return json(200, tokenJson(ctx.rt, record, false));
}

/** GET /api/v1/users/:user_id/user_generated_tokens — manual tokens, bookmark pages on [created_at, id]. */
function userGeneratedTokens(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const owner = userParam(ctx, "user_id");
  if (ctx.user!.id !== owner.id && !isAccountAdmin(rt, ctx.user!.id)) throw unauthorized(rt);
  const perPage = perPageOf(ctx.params);
  const page = ctx.params.get("page");
  const all = rt.tokens
    .ofUser(owner.id)
    .filter((record) => record.kind === "manual" && record.workflowState !== "deleted")
    .sort((a, b) => a.createdAt - b.createdAt || a.id - b.id);
  const bookmark = decodeBookmark(page);
  let start = 0;
  if (Array.isArray(bookmark) && typeof bookmark[1] === "number") {
    const [createdAt, id] = bookmark as [string, number];
    const at = Date.parse(createdAt);
    start = all.findIndex((record) => {
      const created = Math.floor(record.createdAt);
      return created > at || (created === at && record.id > id);
    });
    if (start === -1) start = all.length;
  }
  const slice = all.slice(start, start + perPage);
  const more = start + perPage < all.length;
  const last = slice[slice.length - 1];
  const link = linkHeader(
    collectionUrl(ctx),
    ctx.queryPairs,
    {
      current: page ?? "first",
      next:
        more && last
          ? encodeBookmark([new Date(Math.floor(last.createdAt)).toISOString(), last.id])
          : undefined,
      first: "first",
    },
    perPage,
  );
  return json(
    200,
    slice.map((record) => tokenJson(rt, record, false)),
    { Link: link },
    slice.length,
  );
}

export function userRoutes(): RouteDef[] {
  return [
    { method: "GET", template: "/api/v1/users/:id", auth: true, handler: showUser },
    { method: "GET", template: "/api/v1/users/:user_id/profile", auth: true, handler: showProfile },
    { method: "POST", template: "/api/v1/users/:user_id/tokens", auth: true, handler: createToken },
    { method: "GET", template: "/api/v1/users/:user_id/tokens/:id", auth: true, handler: showToken },
    { method: "PUT", template: "/api/v1/users/:user_id/tokens/:id", auth: true, handler: updateToken },
    { method: "DELETE", template: "/api/v1/users/:user_id/tokens/:id", auth: true, handler: deleteToken },
    {
      method: "GET",
      template: "/api/v1/users/:user_id/user_generated_tokens",
      auth: true,
      handler: userGeneratedTokens,
    },
  ];
}
