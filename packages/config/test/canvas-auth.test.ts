import type { TokenRecord } from "@easel/token-store";
import { describe, expect, it } from "vitest";
import {
  CONFIG_INVALID,
  canvasAuthSettings,
  credentialSource,
  oauthStrategy,
  readEnvConfig,
  requireOAuthClient,
  strategyForRecord,
} from "../src/index.js";

const CANVAS = "https://school.instructure.com";
const SIM = "http://127.0.0.1:4100";
const developerRecord: TokenRecord = { access_token: "developer-token-1234567890", token_type: "Bearer" };
const oauthRecord: TokenRecord = {
  access_token: "access-token-1234567890",
  token_type: "Bearer",
  refresh_token: "refresh-token-1234567890",
  expires_at: 2_000_000_000,
};

function settings(env: Record<string, string>, flags = {}) {
  return canvasAuthSettings(readEnvConfig(env), flags);
}

describe("canvasAuthSettings: flags over environment", () => {
  it("takes the base URL and the developer key from the environment", () => {
    expect(
      settings({
        CANVAS_BASE_URL: CANVAS,
        CANVAS_CLIENT_ID: "10000000000001",
        CANVAS_CLIENT_SECRET: "secret",
        CANVAS_REDIRECT_URI: "http://127.0.0.1:8787/callback",
      }),
    ).toEqual({
      baseUrl: CANVAS,
      accessToken: undefined,
      oauthClient: {
        clientId: "10000000000001",
        clientSecret: "secret",
        redirectUri: "http://127.0.0.1:8787/callback",
      },
    });
  });

  it("lets each flag override its variable", () => {
    const resolved = settings(
      { CANVAS_BASE_URL: CANVAS, CANVAS_CLIENT_ID: "1", CANVAS_CLIENT_SECRET: "env-secret" },
      { baseUrl: SIM, clientId: "2", clientSecret: "flag-secret", redirectUri: "http://127.0.0.1:9/cb" },
    );
    expect(resolved.baseUrl).toBe(SIM);
    expect(resolved.oauthClient).toEqual({
      clientId: "2",
      clientSecret: "flag-secret",
      redirectUri: "http://127.0.0.1:9/cb",
    });
  });

  it("configures a developer key from --client-id alone", () => {
    expect(settings({ CANVAS_BASE_URL: CANVAS }, { clientId: "3" }).oauthClient).toEqual({
      clientId: "3",
      clientSecret: undefined,
      redirectUri: undefined,
    });
    expect(settings({ CANVAS_BASE_URL: CANVAS }).oauthClient).toBeUndefined();
  });

  it("needs a base URL, naming the flag and the variable", () => {
    expect(() => settings({})).toThrow(
      expect.objectContaining({
        code: CONFIG_INVALID,
        setting: "CANVAS_BASE_URL",
        message: "--base-url or CANVAS_BASE_URL is required.",
      }),
    );
  });
});

describe("credentialSource: CANVAS_ACCESS_TOKEN or the token store", () => {
  it("uses CANVAS_ACCESS_TOKEN as is when it is set", () => {
    const resolved = settings({ CANVAS_BASE_URL: CANVAS, CANVAS_ACCESS_TOKEN: "env-token-1234" });
    expect(credentialSource(resolved)).toEqual({ kind: "access-token", token: "env-token-1234" });
  });

  it("uses the store when --store names one, even with CANVAS_ACCESS_TOKEN set", () => {
    const resolved = settings(
      { CANVAS_BASE_URL: CANVAS, CANVAS_ACCESS_TOKEN: "env-token-1234" },
      { store: "memory:" },
    );
    expect(credentialSource(resolved)).toEqual({ kind: "store" });
  });

  it("uses the store without CANVAS_ACCESS_TOKEN", () => {
    expect(credentialSource(settings({ CANVAS_BASE_URL: CANVAS }))).toEqual({ kind: "store" });
  });
});

describe("strategyForRecord: the record decides", () => {
  const withClient = { CANVAS_BASE_URL: CANVAS, CANVAS_CLIENT_ID: "1", CANVAS_CLIENT_SECRET: "s" };

  it("a record with a refresh token is OAuth, refreshed with the configured developer key", () => {
    const strategy = strategyForRecord(settings(withClient), oauthRecord, { key: "default" });
    expect(strategy).toMatchObject({ kind: "oauth", baseUrl: CANVAS, refreshable: true });
  });

  it("a record without one, or no record yet, is a developer token", () => {
    for (const record of [developerRecord, undefined]) {
      expect(strategyForRecord(settings(withClient), record, { key: "default" })).toMatchObject({
        kind: "developer-token",
        refreshable: false,
      });
    }
  });

  it("kind: developer-token insists on a developer token", () => {
    const strategy = strategyForRecord(settings(withClient), oauthRecord, {
      key: "default",
      kind: "developer-token",
    });
    expect(strategy.kind).toBe("developer-token");
  });

  it("an OAuth record without a developer key says which variables to set", () => {
    expect(() =>
      strategyForRecord(settings({ CANVAS_BASE_URL: CANVAS }), oauthRecord, { key: "nightly" }),
    ).toThrow(
      expect.objectContaining({
        code: CONFIG_INVALID,
        setting: "CANVAS_CLIENT_ID",
        message: expect.stringContaining(
          'The stored record "nightly" is an OAuth token: set CANVAS_CLIENT_ID',
        ),
      }),
    );
  });

  it("allows plain http:// only for a loopback Canvas (the simulator)", () => {
    expect(strategyForRecord(settings({ CANVAS_BASE_URL: SIM }), developerRecord, { key: "k" }).baseUrl).toBe(
      SIM,
    );
    // canvasAuthSettings refuses such a URL first; a hand-built settings object is still refused.
    const insecure = { baseUrl: "http://canvas.example.edu", accessToken: undefined, oauthClient: undefined };
    expect(() => strategyForRecord(insecure, developerRecord, { key: "k" })).toThrow(TypeError);
  });
});

describe("canvasAuthSettings: the base URL a user meant, or the fix, before any request", () => {
  it.each([
    [`${CANVAS}/`, CANVAS],
    [`${CANVAS}/api/v1`, CANVAS],
    [`${CANVAS}/api/v1/`, CANVAS],
    [` ${CANVAS}//`, CANVAS],
    [`${SIM}/api/v1`, SIM],
    ["https://lms.example.edu/canvas/api/v1/", "https://lms.example.edu/canvas"],
  ])("%s is %s", (given, expected) => {
    expect(settings({ CANVAS_BASE_URL: given }).baseUrl).toBe(expected);
    expect(settings({}, { baseUrl: given }).baseUrl).toBe(expected);
  });

  it("refuses plain http:// for a host other than this machine, naming the https URL to use", () => {
    expect(() => settings({ CANVAS_BASE_URL: "http://canvas.example.edu/api/v1" })).toThrow(
      expect.objectContaining({
        code: CONFIG_INVALID,
        setting: "CANVAS_BASE_URL",
        message: expect.stringContaining("use https://canvas.example.edu."),
      }),
    );
    expect(() => settings({}, { baseUrl: "http://canvas.example.edu" })).toThrow(
      /^--base-url uses plain http/,
    );
  });

  it.each([
    ["school.instructure.com", /must be an absolute/],
    ["ftp://school.instructure.com", /https:\/\//],
    [`${CANVAS}/?x=1`, /without a query/],
    ["https://robot:pw@school.instructure.com", /user name or password/],
  ])("refuses %s", (given, message) => {
    expect(() => settings({ CANVAS_BASE_URL: given })).toThrow(message);
  });
});

describe("oauthStrategy: logging people in with the developer key", () => {
  it("uses the developer key, its redirect URI unless told otherwise, and the purpose", () => {
    const resolved = settings({
      CANVAS_BASE_URL: SIM,
      CANVAS_CLIENT_ID: "1",
      CANVAS_CLIENT_SECRET: "s",
      CANVAS_REDIRECT_URI: "http://127.0.0.1:8787/callback",
    });
    const fromEnv = oauthStrategy(resolved, { purpose: "easel tests" }).startLogin();
    const url = new URL(fromEnv.url);
    expect(url.origin).toBe(SIM);
    expect(url.searchParams.get("client_id")).toBe("1");
    expect(url.searchParams.get("redirect_uri")).toBe("http://127.0.0.1:8787/callback");
    expect(url.searchParams.get("purpose")).toBe("easel tests");
    const told = oauthStrategy(resolved, { redirectUri: "http://127.0.0.1:9/cb" }).startLogin();
    expect(new URL(told.url).searchParams.get("redirect_uri")).toBe("http://127.0.0.1:9/cb");
  });

  it("an explicit dangerouslyAllowInsecureHttp: false refuses even the simulator's http://", () => {
    const resolved = settings({ CANVAS_BASE_URL: SIM, CANVAS_CLIENT_ID: "1" });
    expect(() => oauthStrategy(resolved, { dangerouslyAllowInsecureHttp: false })).toThrow(
      /dangerouslyAllowInsecureHttp/,
    );
  });

  it("needs a client id, naming the flag and the variable", () => {
    const resolved = settings({ CANVAS_BASE_URL: CANVAS });
    for (const attempt of [() => oauthStrategy(resolved), () => requireOAuthClient(resolved)]) {
      expect(attempt).toThrow(
        expect.objectContaining({
          code: CONFIG_INVALID,
          setting: "CANVAS_CLIENT_ID",
          message: "--client-id or CANVAS_CLIENT_ID is required.",
        }),
      );
    }
  });
});
