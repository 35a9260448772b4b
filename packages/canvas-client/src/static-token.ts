import { ReauthorizationRequiredError, type TokenProvider } from "@easel/auth";

/**
 * A `TokenProvider` for a bare developer (manual) token: there is nothing to refresh, so a 401
 * means a person must create a new token.
 */
export function staticTokenProvider(token: string): TokenProvider {
  return {
    getAccessToken: async () => token,
    handleUnauthorized: async () => {
      throw new ReauthorizationRequiredError(
        "Canvas rejected the developer token (invalid, expired or revoked); create a new access token",
        { remedy: "easel token import" },
      );
    },
  };
}
