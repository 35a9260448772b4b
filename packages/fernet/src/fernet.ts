import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import {
  BAD_SIGNATURE,
  BAD_VERSION,
  EXPIRED,
  FUTURE_TIMESTAMP,
  InvalidKeyError,
  InvalidTokenError,
  MALFORMED,
} from "./errors.js";

/** A Fernet key: url-safe base64 text (as `generateKey()` and Python print it), or its 32 raw bytes. */
export type FernetKey = string | Uint8Array;

/** What `decrypt` accepts: the token text, or its bytes (as Python's `bytes` tokens). */
export type FernetToken = string | Uint8Array;

export interface DecryptOptions {
  /**
   * Reject tokens older than this many seconds (`EXPIRED`), or dated more than 60 s in the
   * future (`FUTURE_TIMESTAMP`). Without it the token's age is not checked, as in Python.
   */
  ttlSeconds?: number;
}

const VERSION = 0x80;
/** Python's `_MAX_CLOCK_SKEW`: a token may be dated up to this far ahead of our clock. */
export const MAX_CLOCK_SKEW_SECONDS = 60;
const IV_BYTES = 16;
const HMAC_BYTES = 32;
const BLOCK_BYTES = 16;
/** version (1) + timestamp (8) + IV (16) */
const HEADER_BYTES = 1 + 8 + IV_BYTES;
/** The smallest valid token: header, one block of padding (empty plaintext), HMAC. */
const MIN_TOKEN_BYTES = HEADER_BYTES + BLOCK_BYTES + HMAC_BYTES;

const URLSAFE_BASE64 = /^[A-Za-z0-9_-]*={0,2}$/;
/** Python's `urlsafe_b64decode` discards whitespace (a token file may end in a newline). */
const WHITESPACE = /[\t\n\v\f\r ]/g;

interface KeyPair {
  signing: Buffer;
  encryption: Buffer;
}

interface ParsedToken {
  data: Buffer;
  timestamp: number;
}

/** Fernet instances' key material, kept out of reach of the public object. */
const keyPairs = new WeakMap<Fernet, KeyPair>();

/** A new random Fernet key as url-safe base64 (the same form Python's `Fernet.generate_key()` gives). */
export function generateKey(): string {
  return randomBytes(32).toString("base64url") + "=";
}

/**
 * One Fernet key: authenticated encryption whose tokens are byte-compatible with Python's
 * `cryptography.fernet.Fernet` in both directions.
 *
 * @example
 * ```ts
 * const fernet = new Fernet(process.env.EASEL_FERNET_KEY!);
 * const token = fernet.encrypt('{"access_token": "..."}');
 * const json = fernet.decrypt(token).toString("utf8");
 * ```
 * @see https://github.com/fernet/spec/blob/master/Spec.md
 */
export class Fernet {
  constructor(key: FernetKey) {
    keyPairs.set(this, keyPairFrom(key, "The Fernet key"));
  }

  /** Encrypts `data` (a string is encoded as UTF-8) with the current time and a random IV. */
  encrypt(data: Uint8Array | string): string {
    return this.encryptAtTime(data, nowSeconds());
  }

  /**
   * Encrypts with an explicit timestamp (epoch seconds) and, for test vectors, an explicit IV.
   * **Never pass a fixed IV in production:** reusing an IV leaks plaintext equality.
   */
  encryptAtTime(data: Uint8Array | string, timeSeconds: number, iv?: Uint8Array): string {
    const timestamp = validTimestamp(timeSeconds);
    if (iv !== undefined && iv.byteLength !== IV_BYTES) {
      throw invalidArg(`The IV must be ${IV_BYTES} bytes; received ${iv.byteLength}.`);
    }
    return encryptParts(pairOf(this), toBytes(data), timestamp, iv ? Buffer.from(iv) : randomBytes(IV_BYTES));
  }

  /** Verifies and decrypts a token; throws `InvalidTokenError` whose `code` says why it was refused. */
  decrypt(token: FernetToken, options: DecryptOptions = {}): Buffer {
    const ttl = validTtl(options.ttlSeconds);
    return decryptWith(
      [pairOf(this)],
      parseToken(token),
      ttl === undefined ? undefined : [ttl, nowSeconds()],
    );
  }

  /** `decrypt` with an explicit clock, for tests and vectors. */
  decryptAtTime(token: FernetToken, ttlSeconds: number, currentTimeSeconds: number): Buffer {
    const ttl = validTtl(ttlSeconds) ?? 0;
    return decryptWith([pairOf(this)], parseToken(token), [ttl, validTimestamp(currentTimeSeconds)]);
  }

  /** The token's creation time in epoch seconds, after checking its signature. */
  extractTimestamp(token: FernetToken): number {
    const parsed = parseToken(token);
    signerOf([pairOf(this)], parsed.data);
    return parsed.timestamp;
  }
}

/**
 * Several keys for rotation, like Python's `MultiFernet`: the first key encrypts, every key
 * decrypts, and `rotate` re-encrypts a token under the first key.
 *
 * @example
 * ```ts
 * // EASEL_FERNET_KEY="NEW_KEY,OLD_KEY": tokens written with OLD_KEY still decrypt.
 * const fernet = MultiFernet.fromKeyList(process.env.EASEL_FERNET_KEY!);
 * const fresh = fernet.rotate(oldToken);
 * ```
 */
export class MultiFernet {
  readonly #pairs: readonly KeyPair[];
  readonly #primary: Fernet;

  constructor(keys: ReadonlyArray<Fernet | FernetKey>) {
    if (!Array.isArray(keys) || keys.length === 0) {
      throw new InvalidKeyError("MultiFernet needs at least one key.");
    }
    const fernets = keys.map((key, index) =>
      key instanceof Fernet ? key : fernetFrom(key, `Fernet key #${index + 1} of ${keys.length}`),
    );
    this.#pairs = fernets.map(pairOf);
    this.#primary = fernets[0]!;
  }

  /**
   * Builds a MultiFernet from a comma-separated list such as `EASEL_FERNET_KEY`
   * (`"NEW,OLD"`); whitespace around each key is ignored.
   */
  static fromKeyList(list: string): MultiFernet {
    if (typeof list !== "string" || list.trim() === "") {
      throw new InvalidKeyError("The Fernet key list is empty.");
    }
    return new MultiFernet(list.split(",").map((key) => key.trim()));
  }

  /** How many keys this instance holds (the first encrypts). */
  get size(): number {
    return this.#pairs.length;
  }

  encrypt(data: Uint8Array | string): string {
    return this.#primary.encrypt(data);
  }

  encryptAtTime(data: Uint8Array | string, timeSeconds: number, iv?: Uint8Array): string {
    return this.#primary.encryptAtTime(data, timeSeconds, iv);
  }

  decrypt(token: FernetToken, options: DecryptOptions = {}): Buffer {
    return this.decryptWithKeyIndex(token, options).plaintext;
  }

  /**
   * `decrypt`, also telling which key (0 = the first) verified the token, so a caller can
   * tell that a record still needs re-encrypting under the first key.
   */
  decryptWithKeyIndex(
    token: FernetToken,
    options: DecryptOptions = {},
  ): { plaintext: Buffer; keyIndex: number } {
    const ttl = validTtl(options.ttlSeconds);
    const parsed = parseToken(token);
    return openToken(this.#pairs, parsed, ttl === undefined ? undefined : [ttl, nowSeconds()]);
  }

  decryptAtTime(token: FernetToken, ttlSeconds: number, currentTimeSeconds: number): Buffer {
    const ttl = validTtl(ttlSeconds) ?? 0;
    return decryptWith(this.#pairs, parseToken(token), [ttl, validTimestamp(currentTimeSeconds)]);
  }

  extractTimestamp(token: FernetToken): number {
    const parsed = parseToken(token);
    signerOf(this.#pairs, parsed.data);
    return parsed.timestamp;
  }

  /**
   * Re-encrypts a token under the first key, keeping its original timestamp (as Python
   * does, so a TTL still counts from when the data was first written).
   */
  rotate(token: FernetToken): string {
    const parsed = parseToken(token);
    const plaintext = decryptWith(this.#pairs, parsed, undefined);
    return encryptParts(this.#pairs[0]!, plaintext, parsed.timestamp, randomBytes(IV_BYTES));
  }
}

function fernetFrom(key: FernetKey, label: string): Fernet {
  try {
    return new Fernet(key);
  } catch (error) {
    if (error instanceof InvalidKeyError)
      throw new InvalidKeyError(error.message.replace("The Fernet key", label));
    throw error;
  }
}

function pairOf(fernet: Fernet): KeyPair {
  const pair = keyPairs.get(fernet);
  if (!pair) throw invalidArg("Not a Fernet instance.");
  return pair;
}

function keyPairFrom(key: FernetKey, label: string): KeyPair {
  let raw: Buffer | undefined;
  if (typeof key === "string") {
    raw = decodeUrlsafeBase64(key.trim());
  } else if (key instanceof Uint8Array) {
    // 32 bytes are the raw key; anything else may be the base64 text as bytes, as Python takes it.
    raw =
      key.byteLength === 32
        ? Buffer.from(key)
        : decodeUrlsafeBase64(Buffer.from(key).toString("latin1").trim());
  }
  if (raw?.length !== 32) {
    // The message must never contain the key, even a wrong one: it may be a real secret.
    throw new InvalidKeyError(
      `${label} must be 32 bytes of url-safe base64 (44 characters ending in "="), as printed by \`easel key generate\`.`,
    );
  }
  return { signing: raw.subarray(0, 16), encryption: raw.subarray(16, 32) };
}

function encryptParts(pair: KeyPair, plaintext: Uint8Array, timestamp: number, iv: Buffer): string {
  const cipher = createCipheriv("aes-128-cbc", pair.encryption, iv);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  const header = Buffer.alloc(9);
  header[0] = VERSION;
  header.writeBigUInt64BE(BigInt(timestamp), 1);
  const signed = Buffer.concat([header, iv, ciphertext]);
  const mac = createHmac("sha256", pair.signing).update(signed).digest();
  return Buffer.concat([signed, mac]).toString("base64url") + padding(signed.length + mac.length);
}

function padding(byteLength: number): string {
  const remainder = byteLength % 3;
  return remainder === 0 ? "" : remainder === 1 ? "==" : "=";
}

function parseToken(token: FernetToken): ParsedToken {
  let text: string;
  if (typeof token === "string") text = token;
  else if (token instanceof Uint8Array) text = Buffer.from(token).toString("latin1");
  else throw invalidArg("A Fernet token must be a string or bytes.");
  const data = decodeUrlsafeBase64(text.replace(WHITESPACE, ""));
  if (!data)
    throw new InvalidTokenError(MALFORMED, "Not a Fernet token: it is not url-safe base64 with padding.");
  if (data.length === 0) throw new InvalidTokenError(MALFORMED, "Not a Fernet token: it is empty.");
  if (data[0] !== VERSION) {
    throw new InvalidTokenError(BAD_VERSION, "Not a Fernet token: unknown version byte (expected 0x80).");
  }
  if (data.length < MIN_TOKEN_BYTES || (data.length - HEADER_BYTES - HMAC_BYTES) % BLOCK_BYTES !== 0) {
    throw new InvalidTokenError(
      MALFORMED,
      `Not a Fernet token: ${data.length} bytes cannot hold a header, whole AES blocks and an HMAC (truncated?).`,
    );
  }
  return { data, timestamp: Number(data.readBigUInt64BE(1)) };
}

/** Index of the first key whose HMAC matches, compared in constant time. */
function signerOf(pairs: readonly KeyPair[], data: Buffer): number {
  const signed = data.subarray(0, data.length - HMAC_BYTES);
  const mac = data.subarray(data.length - HMAC_BYTES);
  for (let index = 0; index < pairs.length; index++) {
    const expected = createHmac("sha256", pairs[index]!.signing).update(signed).digest();
    if (timingSafeEqual(expected, mac)) return index;
  }
  throw new InvalidTokenError(
    BAD_SIGNATURE,
    pairs.length === 1
      ? "Fernet token signature does not match: wrong key, or the token was altered."
      : `Fernet token signature matches none of the ${pairs.length} keys: wrong keys, or the token was altered.`,
  );
}

function decryptWith(
  pairs: readonly KeyPair[],
  parsed: ParsedToken,
  time: readonly [ttl: number, now: number] | undefined,
): Buffer {
  return openToken(pairs, parsed, time).plaintext;
}

function openToken(
  pairs: readonly KeyPair[],
  parsed: ParsedToken,
  time: readonly [ttl: number, now: number] | undefined,
): { plaintext: Buffer; keyIndex: number } {
  // Authenticity first, so EXPIRED and FUTURE_TIMESTAMP only ever describe a genuine token.
  const keyIndex = signerOf(pairs, parsed.data);
  const pair = pairs[keyIndex]!;
  if (time) {
    const [ttl, now] = time;
    if (parsed.timestamp + ttl < now) {
      throw new InvalidTokenError(
        EXPIRED,
        `Fernet token expired: it is ${now - parsed.timestamp} s old (ttl ${ttl} s).`,
      );
    }
    if (now + MAX_CLOCK_SKEW_SECONDS < parsed.timestamp) {
      throw new InvalidTokenError(
        FUTURE_TIMESTAMP,
        `Fernet token is dated ${parsed.timestamp - now} s in the future (more than the ${MAX_CLOCK_SKEW_SECONDS} s clock skew allowed).`,
      );
    }
  }
  const iv = parsed.data.subarray(9, HEADER_BYTES);
  const ciphertext = parsed.data.subarray(HEADER_BYTES, parsed.data.length - HMAC_BYTES);
  try {
    const decipher = createDecipheriv("aes-128-cbc", pair.encryption, iv);
    return { plaintext: Buffer.concat([decipher.update(ciphertext), decipher.final()]), keyIndex };
  } catch (cause) {
    throw new InvalidTokenError(MALFORMED, "Fernet token has a valid signature but bad PKCS7 padding.", {
      cause,
    });
  }
}

function decodeUrlsafeBase64(text: string): Buffer | undefined {
  if (text.length % 4 !== 0 || !URLSAFE_BASE64.test(text)) return undefined;
  return Buffer.from(text, "base64url");
}

function toBytes(data: Uint8Array | string): Uint8Array {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (data instanceof Uint8Array) return data;
  throw invalidArg("Data to encrypt must be a string or a Uint8Array.");
}

function nowSeconds(): number {
  return Math.floor(Date.now() / 1000);
}

function validTimestamp(seconds: number): number {
  if (typeof seconds !== "number" || !Number.isFinite(seconds) || seconds < 0) {
    throw invalidArg(
      `A Fernet time must be a non-negative number of epoch seconds; received ${String(seconds)}.`,
    );
  }
  return Math.floor(seconds);
}

function validTtl(ttl: number | undefined): number | undefined {
  if (ttl === undefined) return undefined;
  if (typeof ttl !== "number" || !Number.isFinite(ttl) || ttl < 0) {
    throw invalidArg(`ttlSeconds must be a non-negative number; received ${String(ttl)}.`);
  }
  return ttl;
}

function invalidArg(message: string): TypeError {
  return Object.assign(new TypeError(message), { code: "ERR_INVALID_ARG_VALUE" });
}
