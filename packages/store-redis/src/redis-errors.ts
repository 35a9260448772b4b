import {
  CorruptRecordError,
  StoreAuthError,
  StoreUnavailableError,
  TokenStoreError,
} from "@easel/token-store";

/** Our own deadline ran out: the server did not answer (frozen, partitioned, overloaded). */
export class RedisDeadlineError extends Error {
  constructor(message: string) {
    super(message);
    this.name = this.constructor.name;
  }
}

export interface FailureContext {
  /** `host:port`, never credentials. */
  address: string;
  /** What we were doing, e.g. `read`, `write`, `acquire the lock on`. */
  action: string;
  redisKey?: string;
  /** Masked out of every message, whatever the server or the socket said. */
  password?: string;
}

/**
 * Maps whatever @redis/client or keyv threw to the store's error contract. Replies are matched
 * by their Redis error prefix (`WRONGPASS`, `NOAUTH`, ...), socket failures by elimination: anything
 * else that kept the command from completing means the store is unavailable, never "no token".
 */
export function toStoreError(error: unknown, context: FailureContext): TokenStoreError {
  if (error instanceof TokenStoreError) return error;
  const { address, action, redisKey } = context;
  const reason = mask(describe(error), context.password);
  const target = redisKey === undefined ? "" : ` "${redisKey}"`;
  const options = { cause: error, location: redisKey ?? address };

  if (/^WRONGPASS\b|^ERR invalid (username-)?password/i.test(reason)) {
    return new StoreAuthError(
      `Redis at ${address} rejected the credentials in the store URI (${reason}). ` +
        "Check the password in redis://:PASSWORD@host:port (or USER:PASSWORD@ for an ACL user).",
      options,
    );
  }
  if (/^NOAUTH\b/.test(reason)) {
    return new StoreAuthError(
      `Redis at ${address} requires a password and the store URI gives none: use redis://:PASSWORD@${address}.`,
      options,
    );
  }
  if (/^ERR (AUTH|Client sent AUTH)\b/.test(reason)) {
    return new StoreAuthError(
      `Redis at ${address} has no password configured but the store URI gives one (${reason}).`,
      options,
    );
  }
  if (/^NOPERM\b/.test(reason)) {
    return new StoreAuthError(
      `The Redis user may not ${action}${target} at ${address} (${reason}): grant it GET, SET, DEL, UNLINK, ` +
        "EVAL and PEXPIRE on the store's key prefix.",
      options,
    );
  }
  if (/^WRONGTYPE\b/.test(reason) && redisKey !== undefined) {
    return new CorruptRecordError(
      `Redis key "${redisKey}" at ${address} holds something that is not a string value (${reason}); left untouched.`,
      options,
    );
  }
  return new StoreUnavailableError(
    `Redis at ${address} is unavailable: could not ${action}${target} (${reason}).`,
    options,
  );
}

function describe(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) {
    // Node's happy-eyeballs connect reports one error per address with an empty message.
    return error.errors.map(describe).join("; ");
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const text = error.message || (typeof code === "string" ? code : "") || error.name;
    return text.split("\n")[0]!.trim();
  }
  return String(error);
}

function mask(text: string, password: string | undefined): string {
  return password ? text.split(password).join("***") : text;
}
