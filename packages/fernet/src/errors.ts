/** The token's HMAC does not match: wrong key, or the token was altered. */
export const BAD_SIGNATURE = "BAD_SIGNATURE";
/** The token is authentic but older than the `ttl` the caller allowed. */
export const EXPIRED = "EXPIRED";
/** The token is authentic but claims a time more than 60 s in the future (clock skew). */
export const FUTURE_TIMESTAMP = "FUTURE_TIMESTAMP";
/** Not a Fernet token: bad base64, wrong length, or bad padding inside the ciphertext. */
export const MALFORMED = "MALFORMED";
/** The first byte is not 0x80, the only Fernet version there is. */
export const BAD_VERSION = "BAD_VERSION";
/** A key that is not 32 bytes of url-safe base64. */
export const INVALID_KEY = "INVALID_KEY";

export type InvalidTokenCode =
  | typeof BAD_SIGNATURE
  | typeof EXPIRED
  | typeof FUTURE_TIMESTAMP
  | typeof MALFORMED
  | typeof BAD_VERSION;

export type FernetErrorCode = InvalidTokenCode | typeof INVALID_KEY;

/**
 * Base class of every error this package throws. Messages never contain key material,
 * token bytes or plaintext, so they are safe to log.
 */
export class FernetError extends Error {
  readonly code: FernetErrorCode;

  constructor(code: FernetErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** A token that cannot be accepted. `code` says why; Python raises `InvalidToken` for all of them. */
export class InvalidTokenError extends FernetError {
  declare readonly code: InvalidTokenCode;

  constructor(code: InvalidTokenCode, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
  }
}

/** A key that is not 32 bytes of url-safe base64 (`code` is always `INVALID_KEY`). */
export class InvalidKeyError extends FernetError {
  declare readonly code: typeof INVALID_KEY;

  constructor(message: string, options?: { cause?: unknown }) {
    super(INVALID_KEY, message, options);
  }
}
