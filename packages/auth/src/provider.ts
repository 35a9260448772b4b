/**
 * What a Canvas client needs from auth: a token now, and a fresh one after Canvas said the
 * token is invalid. `TokenManager` implements it; so does `staticTokenProvider` for a bare
 * developer token.
 */
export interface TokenProvider {
  /** A token valid for at least the provider's buffer (refreshing first if needed). */
  getAccessToken(options?: { signal?: AbortSignal }): Promise<string>;
  /**
   * Called once after a 401 that carries `WWW-Authenticate` (token invalid, expired or
   * revoked) for `rejectedToken`. Resolves a different, fresh token to retry with, or rejects
   * with `ReauthorizationRequiredError` when no refresh can help.
   */
  handleUnauthorized(rejectedToken: string, options?: { signal?: AbortSignal }): Promise<string>;
}
