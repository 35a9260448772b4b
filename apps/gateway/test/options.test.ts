import { MemoryStore } from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS, type GatewayOptions, normalizeGatewayOptions } from "../src/options.js";

const API_KEY = "a-gateway-api-key-0123456789";
const service = {
  mode: "service",
  canvasBaseUrl: "https://school.instructure.com/",
  auth: "developer-token-secret-value",
  apiKeys: [API_KEY],
} as const satisfies GatewayOptions;
const user = {
  mode: "user",
  canvasBaseUrl: "https://school.instructure.com",
  oauth: { clientId: "10000000000001", clientSecret: "client-secret-value" },
  store: new MemoryStore(),
  sessionSecret: "s".repeat(32),
} as const satisfies GatewayOptions;

/** The TypeError `normalizeGatewayOptions` throws for `options`. */
function errorFor(options: unknown): TypeError & { code?: string } {
  try {
    normalizeGatewayOptions(options as GatewayOptions);
  } catch (error) {
    return error as TypeError & { code?: string };
  }
  throw new Error("expected the options to be refused");
}

describe("gateway options: defaults", () => {
  it("fills every default once", () => {
    const normalized = normalizeGatewayOptions(service);
    expect(normalized).toMatchObject({
      mode: "service",
      canvasBaseUrl: "https://school.instructure.com",
      graphqlEndpoint: "/graphql",
      corsOrigins: [],
      graphiql: false,
      introspection: false,
      limits: DEFAULT_LIMITS,
      requestTimeoutMs: 30_000,
      processMetrics: false,
      canvasClient: {},
      readinessCacheMs: 5_000,
      readinessTimeoutMs: 2_000,
      loaderStrategy: "batched",
      listCache: { ttlMs: 60_000, maxEntries: 1_000, maxRows: 250_000 },
      auth: service.auth,
      apiKeys: [API_KEY],
      store: undefined,
      storeKey: "default",
    });
    expect(normalizeGatewayOptions(user)).toMatchObject({
      mode: "user",
      oauth: {
        clientId: "10000000000001",
        redirectUri: undefined,
        scopes: [],
        dangerouslyAllowInsecureHttp: false,
      },
      store: user.store,
      sessionTtlSeconds: 8 * 3600,
      secureCookies: "auto",
      trustProxy: false,
    });
  });

  it("keeps what was given: GraphiQL settings, partial limits, the list cache's clock", () => {
    const clock = () => 42;
    const normalized = normalizeGatewayOptions({
      ...service,
      graphiql: { defaultQuery: "{ __typename }" },
      limits: { maxDepth: 8 },
      listCacheTtlSeconds: 0,
      clock,
    });
    expect(normalized.graphiql).toEqual({ title: "Easel GraphQL", defaultQuery: "{ __typename }" });
    expect(normalized.limits).toEqual({ ...DEFAULT_LIMITS, maxDepth: 8 });
    expect(normalized.listCache).toMatchObject({ ttlMs: 0, now: clock });
    expect(normalizeGatewayOptions({ ...service, graphiql: true }).graphiql).toEqual({
      title: "Easel GraphQL",
    });
  });
});

describe("gateway options: errors name the option and the value received", () => {
  it.each([
    [
      { limits: { maxDepth: 0 } },
      'Gateway option "limits.maxDepth" must be an integer from 1 to 100; received 0',
    ],
    [
      { requestTimeoutMs: 1.5 },
      'Gateway option "requestTimeoutMs" must be an integer from 1 to 3600000; received 1.5',
    ],
    [
      { graphqlEndpoint: "graphql" },
      'Gateway option "graphqlEndpoint" must be a path such as "/graphql"; received "graphql"',
    ],
    [
      { corsOrigins: ["*"] },
      'Gateway option "corsOrigins[]" must be an exact origin such as "https://app.example.edu" (no "*"); received "*"',
    ],
    [
      { corsOrigins: "https://a.example" },
      'Gateway option "corsOrigins" must be an array of origins; received "https://a.example"',
    ],
    [
      { canvasBaseUrl: "ftp://canvas.example.edu" },
      'Gateway option "canvasBaseUrl" must be an http(s) URL; received "ftp://canvas.example.edu"',
    ],
    [
      { canvasBaseUrl: "school" },
      'Gateway option "canvasBaseUrl" must be an absolute http(s) URL; received "school"',
    ],
    [{ introspection: "yes" }, 'Gateway option "introspection" must be a boolean; received "yes"'],
    [
      { graphiql: 1 },
      'Gateway option "graphiql" must be a boolean or { defaultQuery, title, dangerouslyPrefillHeaders }; received 1',
    ],
    [
      { loaderStrategy: "eager" },
      'Gateway option "loaderStrategy" must be "batched" or "naive-per-student"; received "eager"',
    ],
    [{ logger: {} }, 'Gateway option "logger" must be a pino logger or false; received an object'],
    [{ clock: 5 }, 'Gateway option "clock" must be a function returning milliseconds; received 5'],
    [{ mode: "admin" }, 'Gateway option "mode" must be "service" or "user"; received "admin"'],
  ])("%j", (change, message) => {
    const error = errorFor({ ...service, ...change });
    expect(error).toBeInstanceOf(TypeError);
    expect(error.code).toBe("ERR_INVALID_ARG_VALUE");
    expect(error.message).toBe(message);
  });

  it("user mode: the developer key, the store and the session settings", () => {
    expect(errorFor({ ...user, oauth: undefined }).message).toBe(
      'Gateway option "oauth" must be { clientId, clientSecret }; received undefined',
    );
    expect(errorFor({ ...user, oauth: { ...user.oauth, clientId: "" } }).message).toBe(
      'Gateway option "oauth.clientId" must be a non-empty string; received ""',
    );
    expect(errorFor({ ...user, store: {} }).message).toBe(
      'Gateway option "store" must be a TokenStore; received an object',
    );
    expect(errorFor({ ...user, sessionTtlSeconds: 10 }).message).toBe(
      'Gateway option "sessionTtlSeconds" must be an integer from 60 to 2592000; received 10',
    );
    expect(errorFor({ ...user, secureCookies: "always" }).message).toBe(
      'Gateway option "secureCookies" must be a boolean or "auto"; received "always"',
    );
  });

  it("never shows a secret it refuses", () => {
    const cases: Array<[Record<string, unknown>, string, string]> = [
      [{ ...service, apiKeys: ["short key, secret"] }, "apiKeys[]", "short key, secret"],
      [{ ...service, auth: { token: "provider-secret-value" } }, "auth", "provider-secret-value"],
      [{ ...user, sessionSecret: "too-short-session-secret" }, "sessionSecret", "too-short-session-secret"],
      [{ ...user, oauth: { clientId: "1", clientSecret: 12345678901 } }, "oauth.clientSecret", "12345678901"],
      [
        { ...service, canvasBaseUrl: "https://user:canvas-password@school.example" },
        "canvasBaseUrl",
        "canvas-password",
      ],
    ];
    for (const [options, option, secret] of cases) {
      const error = errorFor(options);
      expect(error.message).toContain(`Gateway option "${option}" must be`);
      expect(error.message).toContain("(value hidden)");
      expect(error.message).not.toContain(secret);
    }
  });
});
