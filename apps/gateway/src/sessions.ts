import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";

/** A logged-in browser: which Canvas user it is. The token stays in the TokenStore. */
export interface Session {
  userId: number;
  expiresAt: number;
}

/** A login between `/auth/login` and `/auth/callback`. */
export interface PendingLogin {
  codeVerifier: string;
  redirectUri: string;
  returnTo: string;
  expiresAt: number;
}

function sign(secret: string, purpose: string, id: string): string {
  return createHmac("sha256", secret).update(`${purpose}:${id}`).digest("base64url");
}

function verify(secret: string, purpose: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  const dot = value.lastIndexOf(".");
  if (dot <= 0) return undefined;
  const id = value.slice(0, dot);
  const given = Buffer.from(value.slice(dot + 1));
  const expected = Buffer.from(sign(secret, purpose, id));
  return given.length === expected.length && timingSafeEqual(given, expected) ? id : undefined;
}

/** A bounded map with expiry: the oldest entry goes first when full (no unbounded growth). */
class ExpiringMap<V extends { expiresAt: number }> {
  readonly #entries = new Map<string, V>();
  constructor(readonly maxEntries: number) {}

  set(key: string, value: V): void {
    if (this.#entries.size >= this.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest !== undefined) this.#entries.delete(oldest);
    }
    this.#entries.set(key, value);
  }

  get(key: string, now = Date.now()): V | undefined {
    const value = this.#entries.get(key);
    if (value && value.expiresAt <= now) {
      this.#entries.delete(key);
      return undefined;
    }
    return value;
  }

  delete(key: string): boolean {
    return this.#entries.delete(key);
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * Server-side sessions. The cookie holds a random id plus an HMAC of it (so forged or
 * secret-rotated cookies are refused before any lookup); the id maps to the Canvas user id in
 * memory. Sessions are per process: behind a load balancer use sticky sessions, or let users
 * log in again (their token stays in the shared TokenStore, so a new login is one click).
 */
export class SessionStore {
  readonly #secret: string;
  readonly #ttlMs: number;
  readonly #sessions: ExpiringMap<Session>;
  readonly #logins = new ExpiringMap<PendingLogin>(10_000);

  constructor(secret: string, ttlSeconds: number, maxSessions = 100_000) {
    this.#secret = secret;
    this.#ttlMs = ttlSeconds * 1000;
    this.#sessions = new ExpiringMap(maxSessions);
  }

  /** A new session for `userId`; returns the cookie value. */
  create(userId: number): { cookie: string; session: Session } {
    const id = randomBytes(32).toString("base64url");
    const session = { userId, expiresAt: Date.now() + this.#ttlMs };
    this.#sessions.set(id, session);
    return { cookie: `${id}.${sign(this.#secret, "session", id)}`, session };
  }

  /** The session a cookie names, if the cookie is genuine and the session alive. */
  resolve(cookie: string | undefined): Session | undefined {
    const id = verify(this.#secret, "session", cookie);
    return id === undefined ? undefined : this.#sessions.get(id);
  }

  destroy(cookie: string | undefined): void {
    const id = verify(this.#secret, "session", cookie);
    if (id !== undefined) this.#sessions.delete(id);
  }

  /** Remembers a login's PKCE verifier under its state; returns the browser-binding cookie. */
  beginLogin(state: string, login: Omit<PendingLogin, "expiresAt">): string {
    this.#logins.set(state, { ...login, expiresAt: Date.now() + 10 * 60_000 });
    return `${state}.${sign(this.#secret, "login", state)}`;
  }

  /**
   * The pending login for a callback, once: its `state` must match the binding cookie set by
   * `/auth/login` in the same browser (no login CSRF), and it is forgotten on first use.
   */
  takeLogin(state: string | null, bindingCookie: string | undefined): PendingLogin | undefined {
    const bound = verify(this.#secret, "login", bindingCookie);
    if (!state || bound === undefined || bound !== state) return undefined;
    const login = this.#logins.get(state);
    this.#logins.delete(state);
    return login;
  }

  get sessionCount(): number {
    return this.#sessions.size;
  }
}

export interface CookieOptions {
  maxAgeSeconds?: number;
  secure: boolean;
  path?: string;
}

/** `Set-Cookie` for an HttpOnly, SameSite=Lax cookie (Secure when asked). */
export function serializeCookie(name: string, value: string, options: CookieOptions): string {
  const parts = [`${name}=${value}`, `Path=${options.path ?? "/"}`, "HttpOnly", "SameSite=Lax"];
  if (options.maxAgeSeconds !== undefined)
    parts.push(`Max-Age=${Math.max(0, Math.floor(options.maxAgeSeconds))}`);
  if (options.secure) parts.push("Secure");
  return parts.join("; ");
}

/** Cookies of a request, by name (the first one wins). */
export function parseCookies(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    if (!cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}
