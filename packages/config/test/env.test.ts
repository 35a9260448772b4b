import { describe, expect, it } from "vitest";
import { CONFIG_INVALID, defaultTokenStoreUri, readEnvConfig } from "../src/index.js";

const KEY = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";

describe("readEnvConfig", () => {
  it("reads and normalises every variable", () => {
    const config = readEnvConfig({
      CANVAS_BASE_URL: "https://school.instructure.com/",
      CANVAS_CLIENT_ID: "10000000000001",
      CANVAS_CLIENT_SECRET: "secret",
      CANVAS_REDIRECT_URI: "http://127.0.0.1:8787/callback",
      EASEL_TOKEN_STORE: "redis://127.0.0.1:6379",
      EASEL_FERNET_KEY: `${KEY}, ${KEY}`,
      EASEL_GATEWAY_KEYS: "a, b,,c",
    });
    expect(config.canvasBaseUrl).toBe("https://school.instructure.com");
    expect(config.oauthClient).toEqual({
      clientId: "10000000000001",
      clientSecret: "secret",
      redirectUri: "http://127.0.0.1:8787/callback",
    });
    expect(config.tokenKey).toBe("default");
    expect(config.gatewayKeys).toEqual(["a", "b", "c"]);
  });

  it("names the variable and the expected form, never the value", () => {
    expect(() => readEnvConfig({ EASEL_FERNET_KEY: "not-a-key-but-a-secret" })).toThrow(
      expect.objectContaining({
        code: CONFIG_INVALID,
        setting: "EASEL_FERNET_KEY",
        message: expect.stringMatching(/EASEL_FERNET_KEY .*easel key generate/),
      }),
    );
    try {
      readEnvConfig({ EASEL_FERNET_KEY: "not-a-key-but-a-secret" });
    } catch (error) {
      expect((error as Error).message).not.toContain("not-a-key-but-a-secret");
    }
    expect(() => readEnvConfig({ CANVAS_BASE_URL: "school.instructure.com" })).toThrow(/CANVAS_BASE_URL/);
  });

  it("rejects an unknown store scheme in EASEL_TOKEN_STORE", () => {
    expect(() => readEnvConfig({ EASEL_TOKEN_STORE: "mongodb://x" })).toThrow(/Accepted forms/);
  });

  it("a client secret without a client id is an error", () => {
    expect(() => readEnvConfig({ CANVAS_CLIENT_SECRET: "s" })).toThrow(/CANVAS_CLIENT_ID/);
  });

  it("defaults the store to the user's config dir", () => {
    expect(defaultTokenStoreUri({ XDG_CONFIG_HOME: "/cfg" })).toBe("file:/cfg/easel/tokens/");
    expect(defaultTokenStoreUri({ HOME: "/home/u" })).toBe("file:/home/u/.config/easel/tokens/");
  });
});
