export {
  BAD_SIGNATURE,
  BAD_VERSION,
  EXPIRED,
  FernetError,
  type FernetErrorCode,
  FUTURE_TIMESTAMP,
  INVALID_KEY,
  InvalidKeyError,
  type InvalidTokenCode,
  InvalidTokenError,
  MALFORMED,
} from "./errors.js";
export {
  type DecryptOptions,
  Fernet,
  type FernetKey,
  type FernetToken,
  generateKey,
  MAX_CLOCK_SKEW_SECONDS,
  MultiFernet,
} from "./fernet.js";
