import { describe, expect, it } from "vitest";
import {
  ConfigError,
  INVALID_STORE_URI,
  openTokenStore,
  redactStoreUri,
  storeSchemeOf,
} from "../src/index.js";

describe("store URIs", () => {
  it.each([
    ["memory:", "memory"],
    ["file:/var/lib/easel/token.enc", "file"],
    ["file:/var/lib/easel/tokens/", "file"],
    ["redis://127.0.0.1:6379/0?prefix=easel:", "redis"],
    ["rediss://:pw@cache.example.edu:6380", "redis"],
    ["vault+http://127.0.0.1:8200/secret/easel", "vault"],
    ["vault+https://vault.example.edu/kv/canvas", "vault"],
  ])("%s selects the %s adapter", (uri, scheme) => {
    expect(storeSchemeOf(uri)).toBe(scheme);
  });

  it("an unknown scheme is a usage error that lists every accepted form", () => {
    const error = catchError(() => storeSchemeOf("s3://bucket/tokens"));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toMatchObject({ code: INVALID_STORE_URI, setting: "EASEL_TOKEN_STORE" });
    for (const form of ["memory:", "file:PATH", "file:DIR/", "redis://", "vault+http(s)://"]) {
      expect(error.message).toContain(form);
    }
  });

  it("a malformed URI never echoes the password it carries", () => {
    const error = catchError(() => storeSchemeOf("redis://:hunter2@/0"));
    expect(error.message).not.toContain("hunter2");
    expect(error.message).toContain("***");
  });

  it("file: without a path is refused", () => {
    expect(() => storeSchemeOf("file:")).toThrow(/needs a path/);
  });

  it("redacts passwords and secret query values", () => {
    expect(redactStoreUri("redis://user:s3cret@h:6379/0?prefix=e:")).toBe(
      "redis://user:***@h:6379/0?prefix=e:",
    );
    expect(redactStoreUri("redis://:s3cret@h:6379")).toBe("redis://***@h:6379");
    expect(redactStoreUri("vault+http://h:8200/kv/p?token=abc&x=1")).toBe(
      "vault+http://h:8200/kv/p?token=***&x=1",
    );
  });

  it("memory: opens a working MemoryStore", async () => {
    const store = await openTokenStore("memory:");
    await store.set("k", { access_token: "a", token_type: "Bearer" });
    expect(await store.get("k")).toEqual({ access_token: "a", token_type: "Bearer" });
    await store.close();
  });
});

function catchError(fn: () => unknown): Error {
  try {
    fn();
  } catch (error) {
    return error as Error;
  }
  throw new Error("expected an error");
}
