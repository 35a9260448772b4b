import { readFileSync, statSync } from "node:fs";
import { readVector, VECTORS } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { BAD_SIGNATURE, InvalidTokenError, MultiFernet } from "../src/index.js";

interface CacheCase {
  file: string;
  keys: string[];
  plaintext_json?: string;
  expect_error?: string;
}

describe("token caches written by Python's cryptography", () => {
  const cases = readVector<CacheCase[]>("token-cache/cases.json");
  const readable = cases.filter((c) => c.plaintext_json !== undefined);
  const refused = cases.filter((c) => c.expect_error !== undefined);

  it("has both kinds of case", () => {
    expect(readable.length).toBeGreaterThanOrEqual(4);
    expect(refused.length).toBeGreaterThanOrEqual(1);
  });

  it.each(readable.map((c) => [c.file, c] as const))("%s decrypts to the exact JSON bytes", (_file, c) => {
    const token = readFileSync(new URL(`token-cache/${c.file}`, VECTORS), "utf8");
    const plaintext = MultiFernet.fromKeyList(c.keys.join(",")).decrypt(token);
    expect(plaintext.equals(Buffer.from(c.plaintext_json!, "utf8"))).toBe(true);
  });

  it("reports that rotated-old-key.enc was verified by the second key", () => {
    const c = readable.find((x) => x.file === "rotated-old-key.enc")!;
    const token = readFileSync(new URL("token-cache/rotated-old-key.enc", VECTORS), "utf8");
    expect(MultiFernet.fromKeyList(c.keys.join(",")).decryptWithKeyIndex(token).keyIndex).toBe(1);
  });

  it.each(refused.map((c) => [c.file, c] as const))(
    "%s with the wrong key is a BAD_SIGNATURE",
    (_file, c) => {
      const url = new URL(`token-cache/${c.file}`, VECTORS);
      const before = statSync(url).mtimeMs;
      const token = readFileSync(url, "utf8");
      const fernet = MultiFernet.fromKeyList(c.keys.join(","));
      expect(() => fernet.decrypt(token)).toThrow(InvalidTokenError);
      try {
        fernet.decrypt(token);
      } catch (error) {
        expect((error as InvalidTokenError).code).toBe(BAD_SIGNATURE);
      }
      expect(statSync(url).mtimeMs).toBe(before);
    },
  );
});
