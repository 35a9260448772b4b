import { createHash, timingSafeEqual } from "node:crypto";
import type { Plugin } from "graphql-yoga";
import type { Logger } from "pino";
import { errorResponse, UNAUTHENTICATED } from "../errors.js";
import { requestState } from "../request-state.js";

function digest(value: string): Buffer {
  return createHash("sha256").update(value).digest();
}

/** The key a request presents: `Authorization: Bearer <key>` or `x-api-key: <key>`. */
export function presentedKey(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  const bearer = header ? /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1] : undefined;
  return bearer ?? request.headers.get("x-api-key")?.trim() ?? undefined;
}

/**
 * The id of the configured key `key` is (first 8 hex chars of its SHA-256), compared as digests in
 * constant time against every configured key; undefined for no key or a wrong one.
 */
export function apiKeyMatcher(apiKeys: readonly string[]): (key: string | undefined) => string | undefined {
  const digests = apiKeys.map(digest);
  return (key) => {
    if (key === undefined) return undefined;
    const given = digest(key);
    let match: Buffer | undefined;
    for (const candidate of digests) {
      if (timingSafeEqual(candidate, given)) match = candidate;
    }
    return match?.toString("hex").slice(0, 8);
  };
}

/**
 * Service mode: every request to the GraphQL endpoint must present one of the configured API
 * keys, else 401 with a JSON GraphQL error (no hint which part was wrong). Keys are compared as
 * SHA-256 digests in constant time against every configured key. The principal is the key's
 * digest prefix, so logs say which key was used without holding it.
 */
export function useApiKeyAuth(apiKeys: readonly string[], graphqlEndpoint: string, baseLog: Logger): Plugin {
  const match = apiKeyMatcher(apiKeys);
  return {
    onRequest({ request, endResponse }) {
      if (request.method === "OPTIONS") return;
      if (new URL(request.url).pathname !== graphqlEndpoint) return;
      const key = presentedKey(request);
      const keyId = match(key);
      if (keyId === undefined) {
        endResponse(
          errorResponse(
            401,
            UNAUTHENTICATED,
            key === undefined
              ? "An API key is required: send `Authorization: Bearer <key>` or `x-api-key: <key>`."
              : "The API key is not valid.",
            { "www-authenticate": 'Bearer realm="easel-gateway"' },
          ),
        );
        return;
      }
      requestState(request, baseLog).principal = { kind: "service", keyId };
    },
  };
}
