import type { TokenRecord } from "@easel/token-store";

/** Per-call options of strategy methods. */
export interface CallOptions {
  /** Abandons the HTTP request (the strategy's own timeout still applies). */
  signal?: AbortSignal | undefined;
}

/** What `revoke` did at Canvas. */
export interface RevokeOutcome {
  /** Canvas confirmed the token is gone. */
  revoked: boolean;
  /** Canvas no longer accepted the token anyway (already revoked, expired or deleted). */
  alreadyInvalid: boolean;
}

/**
 * How a credential is kept alive: the one interface `TokenManager` drives. Build one with
 * `developerToken()` or `oauth()`; both are small immutable values.
 */
export interface AuthStrategy {
  readonly kind: "developer-token" | "oauth";
  /** Canvas root URL, without a trailing slash. */
  readonly baseUrl: string;
  /** False for developer tokens: no refresh exists, an expired or rejected token needs a person. */
  readonly refreshable: boolean;
  /**
   * Whether Canvas rotates the refresh token on each refresh (public PKCE clients). Then a
   * process that dies between Canvas's answer and the store write loses the only valid
   * refresh token, and the next refresh needs a new login.
   */
  readonly rotatesRefreshToken: boolean;
  /** The command that re-authorizes this kind of credential, e.g. "easel login". */
  readonly remedy: string;
  /**
   * A new record from `record` (refresh_token grant for OAuth). Throws
   * `ReauthorizationRequiredError` when Canvas refuses for good, `RefreshFailedError` with
   * `retryable: true` when trying again may help, `OAuthError` for a client misconfiguration.
   */
  refresh(record: TokenRecord, options?: CallOptions): Promise<TokenRecord>;
  /** Revokes the credential at Canvas. The caller deletes the stored record. */
  revoke(record: TokenRecord, options?: CallOptions): Promise<RevokeOutcome>;
}
