import { createHash, randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** A random opaque string like Canvas's `CanvasSlug.generate(nil, 64)`. */
export function randomSlug(length = 64): string {
  const bytes = randomBytes(length);
  let out = "";
  for (let i = 0; i < length; i++) out += ALPHABET[bytes[i]! % ALPHABET.length];
  return out;
}

/**
 * A short, stable, non-reversible name for a token, used as the `byToken` stats key and the throttle
 * bucket key (Canvas keys buckets by `token:<hmac of the token>`). Never log a token; log this.
 */
export function tokenFingerprint(token: string): string {
  return createHash("sha256").update(token).digest("hex").slice(0, 16);
}

/** A registered developer key. */
export interface OAuthClient {
  id: string;
  /** null for a public (PKCE) client. */
  secret: string | null;
  name: string;
  redirectUris: string[];
  isPublic: boolean;
  /** Non-null when the key "requires scopes": tokens carry the requested subset of these. */
  scopes: string[] | null;
}

export type TokenKind = "oauth" | "manual";
export type TokenWorkflowState = "active" | "pending" | "deleted";

export interface AccessTokenRecord {
  id: number;
  userId: number;
  kind: TokenKind;
  token: string;
  fingerprint: string;
  clientId: string | null;
  purpose: string | null;
  scopes: string[] | null;
  createdAt: number;
  updatedAt: number;
  /** OAuth tokens' 1-hour expiry (`needs_refresh?`); null for manual tokens. */
  expiresAt: number | null;
  /** `permanent_expires_at`: a manual token's `expires_at`, or a public client's rolling 2-hour limit. */
  permanentExpiresAt: number | null;
  lastUsedAt: number | null;
  workflowState: TokenWorkflowState;
  refreshToken: string | null;
}

export interface AuthorizationCode {
  clientId: string;
  redirectUri: string;
  userId: number;
  codeChallenge: string | null;
  scopes: string[] | null;
  purpose: string | null;
  expiresAt: number;
}

export type AuthResult =
  | { ok: true; record: AccessTokenRecord }
  | { ok: false; reason: "invalid" | "revoked" }
  | { ok: false; reason: "expired"; expiredAt: number };

/** Lifetime of authorization codes (canvas:lib/canvas/oauth/token.rb: Redis TTL 600). */
export const CODE_TTL_MS = 10 * 60 * 1000;
/** Public clients' rolling permanent expiry (canvas grant_types/refresh_token.rb). */
export const PUBLIC_CLIENT_ROLLING_MS = 2 * 60 * 60 * 1000;

/** Every credential the simulator knows. Lookups are Map gets: the request path stays O(1). */
export class TokenRegistry {
  readonly clients = new Map<string, OAuthClient>();
  readonly #byToken = new Map<string, AccessTokenRecord>();
  readonly #byRefresh = new Map<string, AccessTokenRecord>();
  readonly #byId = new Map<number, AccessTokenRecord>();
  /** Strings of deleted tokens, so they answer "Revoked access token." rather than "Invalid". */
  readonly #revoked = new Set<string>();
  readonly #codes = new Map<string, AuthorizationCode>();
  #nextId = 1;
  #nextClientNumber = 1;

  registerClient(
    input: Partial<OAuthClient> & { isPublic?: boolean },
    seedSecret: () => string,
  ): OAuthClient {
    const id = input.id ?? String(10_000_000_000_000 + this.#nextClientNumber);
    this.#nextClientNumber++;
    const isPublic = input.isPublic ?? false;
    const client: OAuthClient = {
      id,
      secret: isPublic ? null : (input.secret ?? seedSecret()),
      name: input.name ?? (isPublic ? "Easel public client" : "Easel"),
      redirectUris: input.redirectUris ?? [],
      isPublic,
      scopes: input.scopes ?? null,
    };
    this.clients.set(id, client);
    return client;
  }

  #add(record: AccessTokenRecord): AccessTokenRecord {
    this.#byToken.set(record.token, record);
    this.#byId.set(record.id, record);
    if (record.refreshToken) this.#byRefresh.set(record.refreshToken, record);
    return record;
  }

  createOAuth(input: {
    userId: number;
    clientId: string;
    ttlSeconds: number;
    now: number;
    scopes: string[] | null;
    purpose: string | null;
    isPublic: boolean;
  }): AccessTokenRecord {
    const token = randomSlug();
    return this.#add({
      id: this.#nextId++,
      userId: input.userId,
      kind: "oauth",
      token,
      fingerprint: tokenFingerprint(token),
      clientId: input.clientId,
      purpose: input.purpose,
      scopes: input.scopes,
      createdAt: input.now,
      updatedAt: input.now,
      expiresAt: input.now + input.ttlSeconds * 1000,
      permanentExpiresAt: input.isPublic ? input.now + PUBLIC_CLIENT_ROLLING_MS : null,
      lastUsedAt: null,
      workflowState: "active",
      refreshToken: randomSlug(),
    });
  }

  createManual(input: {
    userId: number;
    now: number;
    purpose: string | null;
    expiresAt: number | null;
    scopes: string[] | null;
    pending?: boolean;
  }): AccessTokenRecord {
    const token = randomSlug();
    return this.#add({
      id: this.#nextId++,
      userId: input.userId,
      kind: "manual",
      token,
      fingerprint: tokenFingerprint(token),
      clientId: null,
      purpose: input.purpose,
      scopes: input.scopes,
      createdAt: input.now,
      updatedAt: input.now,
      expiresAt: null,
      permanentExpiresAt: input.expiresAt,
      lastUsedAt: null,
      workflowState: input.pending ? "pending" : "active",
      refreshToken: null,
    });
  }

  /** `AccessToken.authenticate` plus the newer Expired/Revoked distinctions (canvas-api.md §2). */
  authenticate(token: string, now: number): AuthResult {
    const record = this.#byToken.get(token);
    if (!record) return { ok: false, reason: this.#revoked.has(token) ? "revoked" : "invalid" };
    if (record.workflowState !== "active") return { ok: false, reason: "invalid" };
    if (record.permanentExpiresAt !== null && record.permanentExpiresAt <= now) {
      return { ok: false, reason: "expired", expiredAt: record.permanentExpiresAt };
    }
    // An OAuth token past its hour "needs refresh": plain "Invalid access token." on Canvas.
    if (record.expiresAt !== null && record.expiresAt <= now) return { ok: false, reason: "invalid" };
    return { ok: true, record };
  }

  byToken(token: string): AccessTokenRecord | undefined {
    return this.#byToken.get(token);
  }

  byRefreshToken(refreshToken: string): AccessTokenRecord | undefined {
    return this.#byRefresh.get(refreshToken);
  }

  byId(id: number): AccessTokenRecord | undefined {
    return this.#byId.get(id);
  }

  /** Tokens of a user, oldest first. */
  ofUser(userId: number): AccessTokenRecord[] {
    const list: AccessTokenRecord[] = [];
    for (const record of this.#byId.values()) if (record.userId === userId) list.push(record);
    return list;
  }

  /** Replaces the access token string (refresh grant, or Access Tokens API regenerate). */
  regenerate(record: AccessTokenRecord, now: number, ttlSeconds: number | null): void {
    this.#byToken.delete(record.token);
    record.token = randomSlug();
    record.fingerprint = tokenFingerprint(record.token);
    record.updatedAt = now;
    if (ttlSeconds !== null) record.expiresAt = now + ttlSeconds * 1000;
    this.#byToken.set(record.token, record);
  }

  /**
   * The user accepts a token an admin created for them (Canvas's internal `activate` action): a
   * pending token becomes usable. `not-pending` for any other state ("is already active").
   */
  activate(record: AccessTokenRecord, now: number): "activated" | "not-pending" {
    if (record.workflowState !== "pending") return "not-pending";
    record.workflowState = "active";
    record.updatedAt = now;
    return "activated";
  }

  /** Public clients get a new refresh token on every refresh. */
  rotateRefreshToken(record: AccessTokenRecord): void {
    if (record.refreshToken) this.#byRefresh.delete(record.refreshToken);
    record.refreshToken = randomSlug();
    this.#byRefresh.set(record.refreshToken, record);
  }

  /** Soft-deletes a token: its access and refresh strings stop working ("Revoked access token."). */
  delete(record: AccessTokenRecord, now: number): void {
    record.workflowState = "deleted";
    record.updatedAt = now;
    this.#byToken.delete(record.token);
    this.#byId.delete(record.id);
    this.#revoked.add(record.token);
    if (record.refreshToken) {
      this.#byRefresh.delete(record.refreshToken);
      this.#revoked.add(record.refreshToken);
    }
  }

  /** Revokes an access or refresh token string. */
  revoke(tokenOrRefresh: string, now: number): boolean {
    const record = this.#byToken.get(tokenOrRefresh) ?? this.#byRefresh.get(tokenOrRefresh);
    if (!record) return false;
    this.delete(record, now);
    return true;
  }

  /** Makes a token expired now: OAuth tokens need a refresh, manual tokens pass their expiry. */
  expire(tokenOrRefresh: string, now: number): boolean {
    const record = this.#byToken.get(tokenOrRefresh) ?? this.#byRefresh.get(tokenOrRefresh);
    if (!record) return false;
    if (record.kind === "oauth" && tokenOrRefresh === record.token) record.expiresAt = now - 1;
    else record.permanentExpiresAt = now - 1;
    return true;
  }

  issueCode(code: Omit<AuthorizationCode, "expiresAt">, now: number): string {
    const value = randomSlug(32);
    this.#codes.set(value, { ...code, expiresAt: now + CODE_TTL_MS });
    return value;
  }

  code(value: string, now: number): AuthorizationCode | undefined {
    const code = this.#codes.get(value);
    if (code && code.expiresAt <= now) {
      this.#codes.delete(value);
      return undefined;
    }
    return code;
  }

  consumeCode(value: string): void {
    this.#codes.delete(value);
  }

  /** Deletes the user's other tokens for this key (`replace_tokens=1`). */
  replaceTokens(userId: number, clientId: string, keep: AccessTokenRecord, now: number): void {
    for (const record of this.ofUser(userId)) {
      if (record !== keep && record.clientId === clientId) this.delete(record, now);
    }
  }

  get size(): number {
    return this.#byId.size;
  }
}
