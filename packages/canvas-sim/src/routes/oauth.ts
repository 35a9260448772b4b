import { createHash } from "node:crypto";
import type { UserInfo } from "../data/people.js";
import { truthy } from "../http/params.js";
import {
  escapeHtml,
  HTML_TYPE,
  json,
  type Reply,
  WWW_AUTHENTICATE_API,
  WWW_AUTHENTICATE_OAUTH,
} from "../http/reply.js";
import type { RequestContext, RouteDef, SimRuntime } from "../runtime.js";
import type { AccessTokenRecord, OAuthClient } from "../tokens.js";

const OOB = "urn:ietf:wg:oauth:2.0:oob";

/** `{error, error_description}` (canvas:lib/canvas/oauth/request_error.rb); 401s carry `Canvas OAuth 2.0`. */
function oauthError(status: 400 | 401, error: string, description: string): Reply {
  return json(
    status,
    { error, error_description: description },
    status === 401 ? { "WWW-Authenticate": WWW_AUTHENTICATE_OAUTH } : undefined,
  );
}

/** The token JSON's user (canvas:lib/canvas/oauth/token.rb `as_json`). */
export function tokenUserJson(user: UserInfo): Record<string, unknown> {
  return {
    id: user.id,
    name: user.name,
    global_id: String(10_000_000_000_000 + user.id),
    effective_locale: "en",
  };
}

/** The authorization_code grant's reply; the refresh grant omits refresh_token (except public clients). */
export function tokenResponse(
  rt: SimRuntime,
  record: AccessTokenRecord,
  includeRefresh: boolean,
): Record<string, unknown> {
  const user = rt.model.people.user(record.userId)!;
  const body: Record<string, unknown> = {
    access_token: record.token,
    token_type: "Bearer",
    user: tokenUserJson(user),
  };
  if (includeRefresh) body.refresh_token = record.refreshToken;
  body.expires_in = Math.max(0, Math.round(((record.expiresAt ?? rt.clock.now()) - rt.clock.now()) / 1000));
  body.canvas_region = "unknown";
  return body;
}

/** A registered redirect URI, or one on the same scheme and host or a subdomain (DeveloperKey#redirect_domain_matches?). */
export function redirectMatches(client: OAuthClient, redirectUri: string | undefined): boolean {
  if (!redirectUri) return false;
  if (redirectUri === OOB) return true;
  if (client.redirectUris.includes(redirectUri)) return true;
  let target: URL;
  try {
    target = new URL(redirectUri);
  } catch {
    return false;
  }
  // The legacy lenient rule: same scheme, same host or a subdomain (any port and path).
  return client.redirectUris.some((registered) => {
    try {
      const key = new URL(registered);
      return (
        key.protocol === target.protocol &&
        (target.hostname === key.hostname || target.hostname.endsWith(`.${key.hostname}`))
      );
    } catch {
      return false;
    }
  });
}

function redirect(to: string, query: Record<string, string | undefined>): Reply {
  const url = new URL(to);
  for (const [key, value] of Object.entries(query)) if (value !== undefined) url.searchParams.set(key, value);
  return { status: 302, body: "", contentType: HTML_TYPE, headers: { Location: url.toString() } };
}

interface AuthRequest {
  client: OAuthClient;
  redirectUri: string;
  state: string | undefined;
  scopes: string[] | null;
  codeChallenge: string | null;
  purpose: string | null;
}

/** Validates /login/oauth2/auth parameters in Canvas's order; returns the request or an error reply. */
function validateAuthRequest(ctx: RequestContext): AuthRequest | Reply {
  const { params, rt } = ctx;
  const clientId = params.get("client_id") ?? "";
  const client = rt.tokens.clients.get(clientId);
  if (!client) return oauthError(401, "invalid_client", "unknown client");
  const redirectUri = params.get("redirect_uri");
  if (!redirectMatches(client, redirectUri)) {
    return oauthError(400, "invalid_request", "redirect_uri does not match client settings");
  }
  const state = params.get("state");
  const fail = (error: string, description?: string) =>
    redirectUri === OOB
      ? oauthError(400, error, description ?? error)
      : redirect(redirectUri!, { error, error_description: description, state });
  if (params.get("response_type") !== "code") return fail("unsupported_response_type");
  const prompt = params.get("prompt");
  if (prompt !== undefined && prompt !== "none") return fail("unsupported_prompt_type");
  if (prompt === "none") return fail("login_required");
  const challenge = params.get("code_challenge") ?? null;
  if (challenge !== null && params.get("code_challenge_method") !== "S256") {
    return fail("invalid_request", "The code_challenge_method is not supported");
  }
  if (client.isPublic && challenge === null) {
    return fail("invalid_request", "PKCE (code_challenge with S256) is required for public clients");
  }
  let scopes: string[] | null = null;
  const requested = (params.get("scope") ?? params.get("scopes") ?? "").split(/[ +]/).filter(Boolean);
  if (client.scopes !== null) {
    if (requested.length === 0 || requested.some((scope) => !client.scopes!.includes(scope))) {
      return fail(
        "invalid_scope",
        "A requested scope is invalid, unknown, malformed, or exceeds the scope granted",
      );
    }
    scopes = requested;
  }
  return {
    client,
    redirectUri: redirectUri!,
    state,
    scopes,
    codeChallenge: challenge,
    purpose: params.get("purpose") ?? null,
  };
}

function approve(ctx: RequestContext, request: AuthRequest, user: UserInfo): Reply {
  const code = ctx.rt.tokens.issueCode(
    {
      clientId: request.client.id,
      redirectUri: request.redirectUri,
      userId: user.id,
      codeChallenge: request.codeChallenge,
      scopes: request.scopes,
      purpose: request.purpose,
    },
    ctx.now,
  );
  if (request.redirectUri === OOB) {
    return {
      status: 200,
      contentType: HTML_TYPE,
      body: `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Authorization code</title></head><body><p>Your authorization code is:</p><pre id="code">${escapeHtml(code)}</pre></body></html>`,
    };
  }
  return redirect(request.redirectUri, { code, state: request.state });
}

const CARRIED = [
  "client_id",
  "response_type",
  "redirect_uri",
  "state",
  "scope",
  "code_challenge",
  "code_challenge_method",
  "purpose",
];

function consentPage(ctx: RequestContext, request: AuthRequest, loginId: string, error?: string): Reply {
  const hidden = CARRIED.map((name) => {
    const value = ctx.params.get(name);
    return value === undefined ? "" : `<input type="hidden" name="${name}" value="${escapeHtml(value)}">`;
  }).join("\n      ");
  const denyQuery = new URLSearchParams();
  for (const name of ["client_id", "redirect_uri", "state"]) {
    const value = ctx.params.get(name);
    if (value !== undefined) denyQuery.set(name, value);
  }
  const body = `<!doctype html>
<html lang="en">
  <head><meta charset="utf-8"><title>Log In to Canvas (simulator)</title></head>
  <body>
    <main>
      <h1>${escapeHtml(request.client.name)} is requesting access to your account.</h1>
      <p>This is the Easel Canvas simulator. Any password is accepted; the login id picks the user.</p>
      ${error ? `<p role="alert" id="error">${escapeHtml(error)}</p>` : ""}
      <form method="post" action="/login/oauth2/accept">
      ${hidden}
      <label>Login <input name="unique_id" id="unique_id" value="${escapeHtml(loginId)}" autocomplete="username"></label>
      <label>Password <input type="password" name="password" autocomplete="current-password"></label>
      <button type="submit" id="authorize">Authorize</button>
      <a href="/login/oauth2/deny?${escapeHtml(denyQuery.toString())}" id="cancel">Cancel</a>
      </form>
    </main>
  </body>
</html>
`;
  return { status: error ? 400 : 200, body, contentType: HTML_TYPE };
}

function authorize(ctx: RequestContext): Reply {
  const request = validateAuthRequest(ctx);
  if ("status" in request) return request;
  const uniqueId = ctx.params.get("unique_id");
  const auto = truthy(ctx.params.get("auto")) || ctx.rt.options.autoApprove;
  if (!auto) return consentPage(ctx, request, uniqueId ?? "admin@example.edu");
  const user = uniqueId
    ? ctx.rt.model.people.findUser(uniqueId)
    : ctx.rt.model.people.user(ctx.rt.model.people.adminUserId);
  if (!user) return consentPage(ctx, request, uniqueId ?? "", "Invalid username or password");
  return approve(ctx, request, user);
}

function accept(ctx: RequestContext): Reply {
  const request = validateAuthRequest(ctx);
  if ("status" in request) return request;
  const uniqueId = ctx.params.get("unique_id") ?? "";
  const user = ctx.rt.model.people.findUser(uniqueId);
  if (!user) return consentPage(ctx, request, uniqueId, "Invalid username or password");
  return approve(ctx, request, user);
}

function deny(ctx: RequestContext): Reply {
  const client = ctx.rt.tokens.clients.get(ctx.params.get("client_id") ?? "");
  if (!client) return oauthError(401, "invalid_client", "unknown client");
  const redirectUri = ctx.params.get("redirect_uri");
  if (!redirectMatches(client, redirectUri) || redirectUri === OOB) {
    return oauthError(400, "invalid_request", "redirect_uri does not match client settings");
  }
  return redirect(redirectUri!, { error: "access_denied", state: ctx.params.get("state") });
}

function basicCredentials(ctx: RequestContext): [string, string] | null {
  const header = ctx.req.headers.authorization;
  const match = header ? /^Basic\s+(\S+)$/i.exec(header) : null;
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon === -1) return null;
  return [decodeURIComponent(decoded.slice(0, colon)), decodeURIComponent(decoded.slice(colon + 1))];
}

function pkceChallenge(verifier: string): string {
  return createHash("sha256").update(verifier).digest("base64url");
}

/** POST /login/oauth2/token (canvas:app/controllers/oauth2_provider_controller.rb `token`). */
function token(ctx: RequestContext): Reply {
  const { rt } = ctx;
  ctx.extraCost = rt.throttle.settings.oauthTokenCost;
  const reply = grant(ctx);
  if (reply.status === 200) return reply;
  rt.stats.grants.refused++;
  return reply;
}

function grant(ctx: RequestContext): Reply {
  const { rt, params } = ctx;
  const code = params.get("code");
  const grantType = params.get("grant_type") || (code ? "authorization_code" : undefined);
  if (grantType === "client_credentials") {
    // Only JWT client assertions (LTI Advantage) are accepted; a plain secret is refused.
    if (params.get("client_assertion_type") !== "urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
      return oauthError(400, "invalid_request", "assertion method not supported for this grant_type");
    }
    return oauthError(401, "invalid_client", "unknown client");
  }
  if (grantType !== "authorization_code" && grantType !== "refresh_token") {
    return oauthError(
      400,
      "unsupported_grant_type",
      "The grant_type you requested is not currently supported",
    );
  }
  const basic = basicCredentials(ctx);
  const clientId = params.get("client_id") || basic?.[0] || "";
  const secret = params.get("client_secret") || basic?.[1] || "";
  const client = /^\d+$/.test(clientId) ? rt.tokens.clients.get(clientId) : undefined;
  if (!client) return oauthError(401, "invalid_client", "unknown client");
  const verifier = params.get("code_verifier");
  if (client.isPublic) {
    if (grantType === "authorization_code" && !verifier)
      return oauthError(401, "invalid_client", "invalid client");
  } else if (secret !== client.secret) {
    return oauthError(401, "invalid_client", "invalid client");
  }

  if (grantType === "authorization_code") {
    if (!code) {
      return oauthError(
        400,
        "invalid_request",
        "You must provide the code parameter when using the authorization_code grant type",
      );
    }
    const issued = rt.tokens.code(code, ctx.now);
    if (!issued) return oauthError(400, "invalid_grant", "authorization_code not found");
    if (issued.clientId !== client.id) return oauthError(400, "invalid_grant", "incorrect client");
    const redirectUri = params.get("redirect_uri");
    if (redirectUri !== undefined && redirectUri !== issued.redirectUri) {
      return oauthError(400, "invalid_grant", "redirect_uri does not match");
    }
    if (issued.codeChallenge !== null || verifier) {
      if (!verifier || issued.codeChallenge === null || pkceChallenge(verifier) !== issued.codeChallenge) {
        return oauthError(400, "invalid_grant", "Invalid code_verifier");
      }
    }
    rt.tokens.consumeCode(code);
    const record = rt.tokens.createOAuth({
      userId: issued.userId,
      clientId: client.id,
      ttlSeconds: rt.options.tokenTtlSeconds,
      now: ctx.now,
      scopes: issued.scopes,
      purpose: issued.purpose,
      isPublic: client.isPublic,
    });
    if (truthy(params.get("replace_tokens")))
      rt.tokens.replaceTokens(issued.userId, client.id, record, ctx.now);
    rt.stats.grants.authorization_code++;
    return json(200, tokenResponse(rt, record, true));
  }

  const refreshToken = params.get("refresh_token");
  if (!refreshToken) {
    return oauthError(
      400,
      "invalid_request",
      "You must provide the refresh_token parameter when using the refresh_token grant type",
    );
  }
  const record = rt.tokens.byRefreshToken(refreshToken);
  if (!record || (record.permanentExpiresAt !== null && record.permanentExpiresAt <= ctx.now)) {
    return oauthError(400, "invalid_request", "refresh_token not found");
  }
  if (record.clientId !== client.id) return oauthError(400, "invalid_grant", "incorrect client");
  rt.tokens.regenerate(record, ctx.now, rt.options.tokenTtlSeconds);
  if (client.isPublic) {
    rt.tokens.rotateRefreshToken(record);
    record.permanentExpiresAt = ctx.now + 2 * 60 * 60 * 1000;
  }
  rt.stats.grants.refresh_token++;
  return json(200, tokenResponse(rt, record, client.isPublic));
}

/** DELETE /login/oauth2/token: the token revokes itself (no scope needed). */
function logout(ctx: RequestContext): Reply {
  const { rt } = ctx;
  if (ctx.tokenString === null) {
    return json(400, { message: "can't delete OAuth access token when not using an OAuth access token" });
  }
  const result = rt.tokens.authenticate(ctx.tokenString, ctx.now);
  if (!result.ok) {
    const message = result.reason === "revoked" ? "Revoked access token." : "Invalid access token.";
    return json(401, { errors: [{ message }] }, { "WWW-Authenticate": WWW_AUTHENTICATE_API });
  }
  rt.tokens.delete(result.record, ctx.now);
  return json(200, {});
}

export function oauthRoutes(): RouteDef[] {
  return [
    { method: "GET", template: "/login/oauth2/auth", auth: false, handler: authorize },
    { method: "POST", template: "/login/oauth2/accept", auth: false, handler: accept },
    { method: "GET", template: "/login/oauth2/deny", auth: false, handler: deny },
    { method: "POST", template: "/login/oauth2/token", auth: false, handler: token },
    { method: "DELETE", template: "/login/oauth2/token", auth: false, handler: logout },
  ];
}
