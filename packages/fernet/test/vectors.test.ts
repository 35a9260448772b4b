import { readVector } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { Fernet, InvalidTokenError } from "../src/index.js";
import { epochSeconds } from "./helpers.js";

interface GenerateCase {
  token: string;
  now: string;
  iv: number[];
  src: string;
  secret: string;
}
interface VerifyCase {
  token: string;
  now: string;
  ttl_sec: number;
  src: string;
  secret: string;
}
interface InvalidCase {
  desc: string;
  token: string;
  now: string;
  ttl_sec: number;
  secret: string;
}

/** Why each invalid vector is refused: the code is part of our contract, Python only says InvalidToken. */
const EXPECTED_CODE: Record<string, string> = {
  "incorrect mac": "BAD_SIGNATURE",
  "too short": "MALFORMED",
  "invalid base64": "MALFORMED",
  "payload size not multiple of block size": "MALFORMED",
  "payload padding error": "MALFORMED",
  "far-future TS (unacceptable clock skew)": "FUTURE_TIMESTAMP",
  "expired TTL": "EXPIRED",
  "incorrect IV (causes padding error)": "MALFORMED",
};

describe("Fernet spec vectors", () => {
  const generate = readVector<GenerateCase[]>("fernet/generate.json");
  const verify = readVector<VerifyCase[]>("fernet/verify.json");
  const invalid = readVector<InvalidCase[]>("fernet/invalid.json");

  it("has vectors to run", () => {
    expect(generate.length + verify.length + invalid.length).toBeGreaterThanOrEqual(10);
  });

  it.each(generate.map((c, i) => [i, c] as const))("generate #%i produces the exact token", (_i, c) => {
    const token = new Fernet(c.secret).encryptAtTime(c.src, epochSeconds(c.now), Uint8Array.from(c.iv));
    expect(token).toBe(c.token);
  });

  it.each(verify.map((c, i) => [i, c] as const))("verify #%i decrypts to the source", (_i, c) => {
    const fernet = new Fernet(c.secret);
    expect(fernet.decryptAtTime(c.token, c.ttl_sec, epochSeconds(c.now)).toString("utf8")).toBe(c.src);
    expect(fernet.extractTimestamp(c.token)).toBe(Math.floor(epochSeconds("1985-10-26T01:20:00-07:00")));
  });

  it.each(invalid.map((c) => [c.desc, c] as const))("invalid: %s is refused", (desc, c) => {
    const fernet = new Fernet(c.secret);
    let error: unknown;
    try {
      fernet.decryptAtTime(c.token, c.ttl_sec, epochSeconds(c.now));
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidTokenError);
    expect((error as InvalidTokenError).code).toBe(EXPECTED_CODE[desc]);
    expect((error as Error).message).not.toContain(c.secret);
  });
});
