import { invalidArgument, ReauthorizationRequiredError } from "./errors.js";

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

/**
 * A provider for a bare token that nothing can renew (a developer token from the environment,
 * a test). A 401 for it means a person must act.
 *
 * @example
 * ```ts
 * const auth = staticTokenProvider(process.env.CANVAS_ACCESS_TOKEN!);
 * ```
 */
export function staticTokenProvider(accessToken: string, options: { remedy?: string } = {}): TokenProvider {
  if (typeof accessToken !== "string" || accessToken.trim() === "") {
    throw invalidArgument("staticTokenProvider() needs a non-empty token");
  }
  const token = accessToken.trim();
  const remedy = options.remedy ?? "easel token import";
  return Object.freeze({
    getAccessToken: async () => token,
    handleUnauthorized: async () => {
      throw new ReauthorizationRequiredError(
        "Canvas rejected the access token (invalid, expired or revoked) and it cannot be renewed; " +
          "create a new one in Canvas (Account > Settings > New access token).",
        { remedy },
      );
    },
  });
}
