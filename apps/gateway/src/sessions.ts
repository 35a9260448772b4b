import { createHash, createHmac, randomBytes, timingSafeEqual } from "node:crypto";

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
 * Where sessions and pending logins live, by id. The default keeps them in this process; the
 * shared one (`EASEL_GATEWAY_CACHE`) in Redis, so any replica can finish a login another began,
 * serve a session another created, and end it for all. Methods may reject when the backend is
 * unreachable: the caller answers 503, never "logged out".
 */
export interface SessionBackend {
  get<V>(kind: "session" | "login", id: string): Promise<V | undefined>;
  set(kind: "session" | "login", id: string, value: object, ttlMs: number): Promise<void>;
  /** Reads and forgets in one step: two replicas never both take a login. */
  take<V>(kind: "session" | "login", id: string): Promise<V | undefined>;
  delete(kind: "session" | "login", id: string): Promise<void>;
}

/** In this process only (the default for one replica), bounded, with expiry. */
export class MemorySessionBackend implements SessionBackend {
  readonly #maps: Record<"session" | "login", ExpiringMap<{ expiresAt: number; value: object }>>;

  constructor(maxSessions = 100_000, maxLogins = 10_000) {
    this.#maps = { session: new ExpiringMap(maxSessions), login: new ExpiringMap(maxLogins) };
  }

  async get<V>(kind: "session" | "login", id: string): Promise<V | undefined> {
    return this.#maps[kind].get(id)?.value as V | undefined;
  }

  async set(kind: "session" | "login", id: string, value: object, ttlMs: number): Promise<void> {
    this.#maps[kind].set(id, { value, expiresAt: Date.now() + ttlMs });
  }

  async take<V>(kind: "session" | "login", id: string): Promise<V | undefined> {
    const entry = this.#maps[kind].get(id);
    this.#maps[kind].delete(id);
    return entry?.value as V | undefined;
  }

  async delete(kind: "session" | "login", id: string): Promise<void> {
    this.#maps[kind].delete(id);
  }

  get sessionCount(): number {
    return this.#maps.session.size;
  }
}

/** Pending logins last ten minutes: long enough for a consent page, short for a stolen state. */
const LOGIN_TTL_MS = 10 * 60_000;

/**
 * Server-side sessions. The cookie holds a random id plus an HMAC of it (so forged or
 * secret-rotated cookies are refused before any lookup); the id maps to the Canvas user id in
 * the backend (this process by default; Redis shared by every replica with `EASEL_GATEWAY_CACHE`,
 * where ids are stored only as SHA-256 digests, so reading Redis does not yield a usable cookie).
 */
export class SessionStore {
  readonly #secret: string;
  readonly #ttlMs: number;
  readonly #backend: SessionBackend;

  constructor(secret: string, ttlSeconds: number, backend: SessionBackend = new MemorySessionBackend()) {
    this.#secret = secret;
    this.#ttlMs = ttlSeconds * 1000;
    this.#backend = backend;
  }

  /** A new session for `userId`; returns the cookie value. */
  async create(userId: number): Promise<{ cookie: string; session: Session }> {
    const id = randomBytes(32).toString("base64url");
    const session = { userId, expiresAt: Date.now() + this.#ttlMs };
    await this.#backend.set("session", digest(id), session, this.#ttlMs);
    return { cookie: `${id}.${sign(this.#secret, "session", id)}`, session };
  }

  /** The session a cookie names, if the cookie is genuine and the session alive. */
  async resolve(cookie: string | undefined): Promise<Session | undefined> {
    const id = verify(this.#secret, "session", cookie);
    if (id === undefined) return undefined;
    const session = await this.#backend.get<Session>("session", digest(id));
    return session && session.expiresAt > Date.now() ? session : undefined;
  }

  async destroy(cookie: string | undefined): Promise<void> {
    const id = verify(this.#secret, "session", cookie);
    if (id !== undefined) await this.#backend.delete("session", digest(id));
  }

  /** Remembers a login's PKCE verifier under its state; returns the browser-binding cookie. */
  async beginLogin(state: string, login: Omit<PendingLogin, "expiresAt">): Promise<string> {
    await this.#backend.set(
      "login",
      digest(state),
      { ...login, expiresAt: Date.now() + LOGIN_TTL_MS },
      LOGIN_TTL_MS,
    );
    return `${state}.${sign(this.#secret, "login", state)}`;
  }

  /**
   * The pending login for a callback, once: its `state` must match the binding cookie set by
   * `/auth/login` in the same browser (no login CSRF), and it is forgotten on first use.
   */
  async takeLogin(
    state: string | null,
    bindingCookie: string | undefined,
  ): Promise<PendingLogin | undefined> {
    const bound = verify(this.#secret, "login", bindingCookie);
    if (!state || bound === undefined || bound !== state) return undefined;
    const login = await this.#backend.take<PendingLogin>("login", digest(state));
    return login && login.expiresAt > Date.now() ? login : undefined;
  }
}

/** Ids are bearer secrets: the backend keys on their digest. */
function digest(id: string): string {
  return createHash("sha256").update(id).digest("base64url");
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
