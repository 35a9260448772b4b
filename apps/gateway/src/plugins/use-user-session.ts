import type { OAuthStrategy } from "@easel/auth";
import type { TokenStore } from "@easel/token-store";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import { errorResponse, SESSION_STORE_UNAVAILABLE, UNAUTHENTICATED } from "../errors.js";
import { SharedCacheUnavailableError } from "../replicas/shared-backend.js";
import { requestState } from "../request-state.js";
import { parseCookies, type SessionStore, serializeCookie } from "../sessions.js";
import { wantsGraphiQL } from "./use-graphiql.js";

export const SESSION_COOKIE = "easel_session";
export const LOGIN_COOKIE = "easel_login";

/** The token store key of a Canvas user's record in user mode. */
export function userRecordKey(userId: number): string {
  return `user:${userId}`;
}

export interface UserSessionOptions {
  strategy: OAuthStrategy;
  store: TokenStore;
  sessions: SessionStore;
  sessionTtlSeconds: number;
  graphqlEndpoint: string;
  /** Fixed redirect URI; else `<request origin>/auth/callback`. */
  redirectUri: string | undefined;
  secureCookies: boolean | "auto";
  trustProxy: boolean;
  baseLog: Logger;
  /** At login, ask Canvas to delete the person's other tokens for the key (`replace_tokens=1`). */
  replaceTokens?: boolean;
  /** After a login stored a new record for the user (awaited before the answer). */
  onLogin?: (userId: number) => void | Promise<void>;
  /** After a logout revoked and deleted the user's record (awaited before the answer). */
  onLogout?: (userId: number) => void | Promise<void>;
}

/** Where the request came from, as the browser saw it. */
function externalOrigin(request: Request, trustProxy: boolean): URL {
  const url = new URL(request.url);
  if (trustProxy) {
    const proto = request.headers.get("x-forwarded-proto")?.split(",")[0]?.trim();
    const host = request.headers.get("x-forwarded-host")?.split(",")[0]?.trim();
    if (proto === "http" || proto === "https") url.protocol = `${proto}:`;
    if (host) url.host = host;
  }
  return new URL(url.origin);
}

/** A same-site path to go back to after login; anything else (open redirects) becomes the default. */
function safeReturnTo(value: string | null, fallback: string): string {
  if (!value?.startsWith("/") || value.startsWith("//") || value.includes("\\")) return fallback;
  return value;
}

const HTML_ESCAPES: Record<string, string> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

/**
 * A failed login as the browser asked for it: a short HTML page for a person at a browser (who
 * would otherwise see raw JSON), the usual JSON error for scripts.
 */
export function authErrorResponse(request: Request, status: number, message: string): Response {
  if (!(request.headers.get("accept") ?? "").includes("text/html")) {
    return errorResponse(status, UNAUTHENTICATED, message);
  }
  const text = message.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c]!);
  return new Response(
    `<!doctype html><html lang="en"><meta charset="utf-8"><title>Login failed</title>` +
      `<h1>Login failed</h1><p>${text}</p><p><a href="/auth/login">Log in again</a></p></html>\n`,
    { status, headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } },
  );
}

function redirect(location: string, cookies: string[] = []): Response {
  const headers = new Headers({ location, "cache-control": "no-store" });
  for (const cookie of cookies) headers.append("set-cookie", cookie);
  return new Response(null, { status: 302, headers });
}

/**
 * User mode: `/auth/login` sends the browser to Canvas's consent page (state + PKCE S256);
 * `/auth/callback` checks the state against the browser's login cookie, exchanges the code,
 * stores the token record under `user:<canvasUserId>` and sets the session cookie (HttpOnly,
 * SameSite=Lax, Secure over TLS; an opaque signed id, never a token); `/auth/logout` ends the
 * session. GraphQL requests without a live session get 401 (the GraphiQL page redirects to login).
 */
export function useUserSession(options: UserSessionOptions): Plugin {
  const { strategy, store, sessions, graphqlEndpoint, baseLog } = options;
  const secure = (request: Request) =>
    options.secureCookies === "auto"
      ? externalOrigin(request, options.trustProxy).protocol === "https:"
      : options.secureCookies;

  const login = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const redirectUri =
      options.redirectUri ?? new URL("/auth/callback", externalOrigin(request, options.trustProxy)).href;
    const start = strategy.startLogin({ redirectUri });
    const binding = await sessions.beginLogin(start.state, {
      codeVerifier: start.codeVerifier,
      redirectUri: start.redirectUri,
      returnTo: safeReturnTo(url.searchParams.get("returnTo"), graphqlEndpoint),
    });
    return redirect(start.url, [
      serializeCookie(LOGIN_COOKIE, binding, { secure: secure(request), path: "/auth", maxAgeSeconds: 600 }),
    ]);
  };

  const callback = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const state = requestState(request, baseLog);
    const cookies = parseCookies(request.headers.get("cookie"));
    const pending = await sessions.takeLogin(url.searchParams.get("state"), cookies.get(LOGIN_COOKIE));
    const clearLogin = serializeCookie(LOGIN_COOKIE, "", {
      secure: secure(request),
      path: "/auth",
      maxAgeSeconds: 0,
    });
    if (!pending) {
      return authErrorResponse(
        request,
        400,
        "This login expired or was started in another browser: log in again.",
      );
    }
    let record: Awaited<ReturnType<OAuthStrategy["handleCallback"]>>;
    try {
      record = await strategy.handleCallback(url, {
        expectedState: url.searchParams.get("state") ?? "",
        codeVerifier: pending.codeVerifier,
        redirectUri: pending.redirectUri,
        replaceTokens: options.replaceTokens === true,
      });
    } catch (error) {
      state.log.warn({ err: error }, "Canvas login failed");
      return authErrorResponse(request, 403, "Canvas did not authorize the login.");
    }
    const userId = record.user?.id;
    if (typeof userId !== "number") {
      state.log.error("Canvas token response carried no user id");
      return authErrorResponse(request, 502, "Canvas did not say who logged in.");
    }
    await store.set(userRecordKey(userId), record);
    await options.onLogin?.(userId);
    const { cookie } = await sessions.create(userId);
    state.principal = { kind: "user", userId };
    state.log.info({ userId }, "user logged in");
    return redirect(pending.returnTo, [
      clearLogin,
      serializeCookie(SESSION_COOKIE, cookie, {
        secure: secure(request),
        maxAgeSeconds: options.sessionTtlSeconds,
      }),
    ]);
  };

  /**
   * Ends the session, and the Canvas token with it (as `easel logout` does): revoked at Canvas, then
   * deleted from the store. A Canvas that cannot be reached does not keep the person logged in.
   */
  const logout = async (request: Request): Promise<Response> => {
    const cookie = parseCookies(request.headers.get("cookie")).get(SESSION_COOKIE);
    const session = await sessions.resolve(cookie);
    await sessions.destroy(cookie);
    let revoked = false;
    if (session) {
      const key = userRecordKey(session.userId);
      const log = requestState(request, baseLog).log;
      const record = await store.get(key);
      if (record) {
        try {
          const outcome = await strategy.revoke(record);
          revoked = outcome.revoked || outcome.alreadyInvalid;
        } catch (error) {
          log.warn({ err: error, userId: session.userId }, "could not revoke the Canvas token at logout");
        }
        await store.delete(key);
      }
      await options.onLogout?.(session.userId);
      log.info({ userId: session.userId, revoked }, "user logged out");
    }
    const headers = new Headers({
      "content-type": "application/json; charset=utf-8",
      "cache-control": "no-store",
    });
    headers.append(
      "set-cookie",
      serializeCookie(SESSION_COOKIE, "", { secure: secure(request), maxAgeSeconds: 0 }),
    );
    return new Response(JSON.stringify({ loggedOut: true, revoked }), { status: 200, headers });
  };

  /**
   * The session backend (Redis with a shared cache) is unreachable: a coded 503, never "logged
   * out" (a 401 would send every browser to Canvas's consent page in a loop).
   */
  const unavailable = (request: Request, error: unknown): Response => {
    requestState(request, baseLog).log.debug({ err: error }, "session lookup failed");
    return errorResponse(
      503,
      SESSION_STORE_UNAVAILABLE,
      "Sessions are unavailable for a moment (the shared session store does not answer): try again shortly.",
      { "retry-after": "5", "cache-control": "no-store" },
    );
  };
  const guarded =
    (handler: (request: Request) => Promise<Response>) =>
    async (request: Request): Promise<Response> => {
      try {
        return await handler(request);
      } catch (error) {
        if (error instanceof SharedCacheUnavailableError) return unavailable(request, error);
        throw error;
      }
    };
  const routes = { login: guarded(login), callback: guarded(callback), logout: guarded(logout) };

  const checkSession = async (request: Request): Promise<Response | undefined> => {
    const session = await sessions.resolve(parseCookies(request.headers.get("cookie")).get(SESSION_COOKIE));
    if (session) {
      requestState(request, baseLog).principal = { kind: "user", userId: session.userId };
      return undefined;
    }
    if (wantsGraphiQL(request))
      return redirect(`/auth/login?returnTo=${encodeURIComponent(graphqlEndpoint)}`);
    return errorResponse(401, UNAUTHENTICATED, "Log in first: open /auth/login in a browser.", {
      "www-authenticate": 'Cookie realm="easel-gateway"',
    });
  };
  const guardedCheck = async (request: Request): Promise<Response | undefined> => {
    try {
      return await checkSession(request);
    } catch (error) {
      if (error instanceof SharedCacheUnavailableError) return unavailable(request, error);
      throw error;
    }
  };

  return {
    onRequest({ request, endResponse }) {
      const path = new URL(request.url).pathname;
      if (path === "/auth/login" && request.method === "GET") {
        return routes.login(request).then(endResponse);
      }
      if (path === "/auth/callback" && request.method === "GET") {
        return routes.callback(request).then(endResponse);
      }
      if (path === "/auth/logout") {
        if (request.method !== "POST") {
          endResponse(new Response("Use POST /auth/logout.", { status: 405, headers: { allow: "POST" } }));
          return undefined;
        }
        return routes.logout(request).then(endResponse);
      }
      if (path !== graphqlEndpoint || request.method === "OPTIONS") return undefined;
      return guardedCheck(request).then((response) => {
        if (response) endResponse(response);
      });
    },
  };
}
