import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { Fernet, generateKey, InvalidTokenError, MultiFernet } from "../src/index.js";

describe("Fernet properties", () => {
  const fernet = new Fernet(generateKey());

  it("decrypt(encrypt(x)) is x for any bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(fernet.decrypt(fernet.encrypt(bytes)).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 300 },
    );
  });

  it("decrypt(encrypt(s)) is s for any string, with any key at any time", () => {
    fc.assert(
      fc.property(
        fc.string({ unit: "grapheme", maxLength: 100 }),
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        fc.integer({ min: 0, max: 2 ** 40 }),
        (text, rawKey, time) => {
          const f = new Fernet(rawKey);
          const token = f.encryptAtTime(text, time);
          expect(f.decrypt(token).toString("utf8")).toBe(text);
          expect(f.extractTimestamp(token)).toBe(time);
        },
      ),
      { numRuns: 200 },
    );
  });

  it("refuses a token with any single bit flipped", () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 64 }),
        fc.nat(),
        fc.integer({ min: 0, max: 7 }),
        (bytes, at, bit) => {
          const raw = Buffer.from(fernet.encrypt(bytes).replace(/=+$/, ""), "base64url");
          raw[at % raw.length]! ^= 1 << bit;
          const tampered = raw.toString("base64url").padEnd(Math.ceil((raw.length * 4) / 3 / 4) * 4, "=");
          expect(() => fernet.decrypt(tampered)).toThrow(InvalidTokenError);
        },
      ),
      { numRuns: 500 },
    );
  });

  it("MultiFernet.rotate keeps plaintext and timestamp for any input", () => {
    const oldKey = generateKey();
    const multi = new MultiFernet([generateKey(), oldKey]);
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 100 }), fc.integer({ min: 0, max: 2 ** 33 }), (bytes, time) => {
        const rotated = multi.rotate(new Fernet(oldKey).encryptAtTime(bytes, time));
        expect(multi.decryptWithKeyIndex(rotated).keyIndex).toBe(0);
        expect(multi.decrypt(rotated).equals(Buffer.from(bytes))).toBe(true);
        expect(multi.extractTimestamp(rotated)).toBe(time);
      }),
      { numRuns: 100 },
    );
  });
});
