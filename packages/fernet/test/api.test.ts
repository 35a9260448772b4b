import { describe, expect, it } from "vitest";
import {
  BAD_SIGNATURE,
  BAD_VERSION,
  EXPIRED,
  Fernet,
  FernetError,
  FUTURE_TIMESTAMP,
  generateKey,
  INVALID_KEY,
  InvalidKeyError,
  InvalidTokenError,
  MALFORMED,
  MultiFernet,
} from "../src/index.js";

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    return (error as { code?: string }).code;
  }
  return undefined;
}

describe("generateKey", () => {
  it("returns 44 url-safe base64 characters that decode to 32 bytes", () => {
    const key = generateKey();
    expect(key).toMatch(/^[A-Za-z0-9_-]{43}=$/);
    expect(Buffer.from(key, "base64url")).toHaveLength(32);
    expect(generateKey()).not.toBe(key);
  });
});

describe("Fernet", () => {
  const key = generateKey();

  it("round-trips strings and bytes", () => {
    const fernet = new Fernet(key);
    expect(fernet.decrypt(fernet.encrypt("héllo")).toString("utf8")).toBe("héllo");
    const bytes = Uint8Array.from([0, 255, 1, 128]);
    expect([...fernet.decrypt(fernet.encrypt(bytes))]).toEqual([...bytes]);
  });

  it("accepts the raw 32-byte key and the base64 text as bytes", () => {
    const token = new Fernet(key).encrypt("x");
    expect(new Fernet(Buffer.from(key, "base64url")).decrypt(token).toString()).toBe("x");
    expect(new Fernet(Buffer.from(key, "latin1")).decrypt(token).toString()).toBe("x");
  });

  it("writes padded url-safe base64 tokens starting with the 0x80 version byte", () => {
    const token = new Fernet(key).encrypt("a".repeat(17));
    expect(token).toMatch(/^gAAAAA[A-Za-z0-9_-]+={0,2}$/);
    expect(token.length % 4).toBe(0);
  });

  it("ignores whitespace around and inside a token, as Python does", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("x");
    expect(fernet.decrypt(`  ${token}\n`).toString()).toBe("x");
    expect(fernet.decrypt(`${token.slice(0, 10)}\n${token.slice(10)}`).toString()).toBe("x");
  });

  it("refuses a token without its base64 padding, as Python does", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("xy");
    expect(token.endsWith("=")).toBe(true);
    expect(codeOf(() => fernet.decrypt(token.replace(/=+$/, "")))).toBe(MALFORMED);
  });

  it("checks age only when a ttl is given", () => {
    const fernet = new Fernet(key);
    const old = fernet.encryptAtTime("x", 1_000);
    expect(fernet.decrypt(old).toString()).toBe("x");
    expect(codeOf(() => fernet.decrypt(old, { ttlSeconds: 60 }))).toBe(EXPIRED);
    expect(fernet.decryptAtTime(old, 60, 1_060).toString()).toBe("x");
    expect(codeOf(() => fernet.decryptAtTime(old, 60, 1_061))).toBe(EXPIRED);
  });

  it("allows 60 s of clock skew and no more", () => {
    const fernet = new Fernet(key);
    const future = fernet.encryptAtTime("x", 2_000);
    expect(fernet.decryptAtTime(future, 10, 1_940).toString()).toBe("x");
    expect(codeOf(() => fernet.decryptAtTime(future, 10, 1_939))).toBe(FUTURE_TIMESTAMP);
  });

  it("reports the timestamp only of a genuine token", () => {
    const fernet = new Fernet(key);
    expect(fernet.extractTimestamp(fernet.encryptAtTime("x", 1_234_567))).toBe(1_234_567);
    expect(codeOf(() => new Fernet(generateKey()).extractTimestamp(fernet.encrypt("x")))).toBe(BAD_SIGNATURE);
  });

  it("names the reason in a code and never echoes key or plaintext", () => {
    const fernet = new Fernet(key);
    const token = fernet.encrypt("secret-plaintext");
    const other = new Fernet(generateKey());
    try {
      other.decrypt(token);
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidTokenError);
      expect(error).toBeInstanceOf(FernetError);
      expect((error as InvalidTokenError).name).toBe("InvalidTokenError");
      expect((error as Error).message).not.toMatch(/secret-plaintext|gAAAAA/);
      expect((error as Error).message).not.toContain(key);
    }
    const wrongVersion = Buffer.from(token, "base64url");
    wrongVersion[0] = 0x81;
    expect(codeOf(() => fernet.decrypt(wrongVersion.toString("base64url") + "="))).toBe(BAD_VERSION);
    expect(codeOf(() => fernet.decrypt(""))).toBe(MALFORMED);
  });

  it("rejects bad keys with INVALID_KEY and does not echo them", () => {
    const almost = key.slice(0, 40);
    for (const bad of [almost, "", "not a key at all!!!", key.replace(/=$/, "")]) {
      try {
        new Fernet(bad);
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidKeyError);
        expect((error as InvalidKeyError).code).toBe(INVALID_KEY);
        if (bad) expect((error as Error).message).not.toContain(bad);
      }
    }
  });

  it("rejects bad arguments with a coded TypeError", () => {
    const fernet = new Fernet(key);
    expect(codeOf(() => fernet.encryptAtTime("x", 1, new Uint8Array(8)))).toBe("ERR_INVALID_ARG_VALUE");
    expect(codeOf(() => fernet.encryptAtTime("x", -1))).toBe("ERR_INVALID_ARG_VALUE");
    expect(codeOf(() => fernet.decrypt(fernet.encrypt("x"), { ttlSeconds: Number.NaN }))).toBe(
      "ERR_INVALID_ARG_VALUE",
    );
  });
});

describe("MultiFernet", () => {
  const [k1, k2, k3] = [generateKey(), generateKey(), generateKey()];

  it("encrypts with the first key and decrypts with any", () => {
    const multi = new MultiFernet([k1, k2]);
    expect(new Fernet(k1).decrypt(multi.encrypt("a")).toString()).toBe("a");
    expect(multi.decrypt(new Fernet(k2).encrypt("b")).toString()).toBe("b");
    expect(codeOf(() => multi.decrypt(new Fernet(k3).encrypt("c")))).toBe(BAD_SIGNATURE);
    expect(multi.size).toBe(2);
  });

  it("accepts Fernet instances and a comma list with spaces", () => {
    const token = new Fernet(k2).encrypt("x");
    expect(new MultiFernet([new Fernet(k1), new Fernet(k2)]).decrypt(token).toString()).toBe("x");
    expect(MultiFernet.fromKeyList(` ${k1} , ${k2}`).decryptWithKeyIndex(token).keyIndex).toBe(1);
  });

  it("rotate re-encrypts under the first key and keeps the original timestamp", () => {
    const old = new Fernet(k2).encryptAtTime("payload", 1_500_000_000);
    const rotated = new MultiFernet([k1, k2]).rotate(old);
    expect(new Fernet(k1).decrypt(rotated).toString()).toBe("payload");
    expect(new Fernet(k1).extractTimestamp(rotated)).toBe(1_500_000_000);
    expect(codeOf(() => new MultiFernet([k1]).rotate(old))).toBe(BAD_SIGNATURE);
  });

  it("applies ttl and skew checks like Fernet", () => {
    const multi = new MultiFernet([k1, k2]);
    const token = new Fernet(k2).encryptAtTime("x", 1_000);
    expect(multi.decryptAtTime(token, 100, 1_050).toString()).toBe("x");
    expect(codeOf(() => multi.decryptAtTime(token, 10, 1_050))).toBe(EXPIRED);
    expect(codeOf(() => multi.decryptAtTime(token, 10, 900))).toBe(FUTURE_TIMESTAMP);
  });

  it("names the position of a bad key in the list, not the key", () => {
    expect(() => MultiFernet.fromKeyList(`${k1},oops`)).toThrow(/#2 of 2/);
    expect(() => new MultiFernet([])).toThrow(InvalidKeyError);
    expect(() => MultiFernet.fromKeyList(" ")).toThrow(InvalidKeyError);
  });
});
