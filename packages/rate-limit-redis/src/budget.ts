import { createHash, randomBytes } from "node:crypto";
import {
  type BudgetGrant,
  type BudgetOutcome,
  type BudgetRequest,
  RATE_LIMIT_BUDGET_UNAVAILABLE,
  type RateLimitBudget,
} from "@easel/canvas-client";
import { Redis } from "ioredis";

export interface RedisRateLimitBudgetOptions {
  /** `redis://[:password@]host[:port][/db]` (or `rediss://`), shared by every process on the token. */
  url: string;
  /**
   * What identifies the Canvas token whose bucket is shared, e.g. the base URL and the token, or
   * the base URL and a stored credential's key. Only its SHA-256 reaches Redis: processes with the
   * same identity share one budget, different identities never do.
   */
  identity: string;
  /** Prefix of the budget's keys. @default "easel:rate-limit:" */
  prefix?: string;
  /**
   * A request still counted in flight after this long is dropped from the count: its process died
   * without saying so (kill -9). Longer than a request attempt can last. @default 60000
   */
  inFlightTtlMs?: number;
  /**
   * Longest wait before asking again while other processes hold the room: their answers may free
   * it sooner than the leak would. @default 25
   */
  pollIntervalMs?: number;
  /** A budget nobody used for this long is deleted (a fresh bucket by then anyway). @default 3600000 */
  idleTtlMs?: number;
  /** Per Redis command, so a hung Redis turns into the pacer's local fallback. @default 2000 */
  commandTimeoutMs?: number;
}

/** The Redis holding the budget did not answer (down, unreachable, timed out). */
export class RateLimitBudgetUnavailableError extends Error {
  readonly code = RATE_LIMIT_BUDGET_UNAVAILABLE;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "RateLimitBudgetUnavailableError";
  }
}

/** Bad options (a URL that is not redis://, an empty identity). */
export class RateLimitBudgetOptionsError extends TypeError {
  readonly code = "ERR_INVALID_ARG_VALUE";
  constructor(message: string) {
    super(message);
    this.name = "RateLimitBudgetOptionsError";
  }
}

// The shared model of Canvas's bucket (the same one @easel/canvas-client's pacer keeps locally; see
// its class comment). KEYS[1]: hash {settled, at, avg}: the room with nothing in flight as of `at`,
// and the running average X-Request-Cost. KEYS[2]: sorted set of grant ids in flight, scored by
// start time. Both scripts run atomically, so two processes never take the same room.
const COMMON = `
local now = tonumber(ARGV[1])
local hwm = tonumber(ARGV[2])
local leak = tonumber(ARGV[3])
local up = tonumber(ARGV[4])
local ttl = tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 'settled', 'at', 'avg', 'blind')
local settled = tonumber(state[1])
local avg = tonumber(state[3])
local room = nil
if settled ~= nil then
  -- Clocks of other processes may lag ours a little: never leak backwards.
  local elapsed = math.max(0, now - tonumber(state[2]))
  room = math.min(math.max(hwm, settled), settled + elapsed / 1000 * leak)
end
`;

// ARGV[6] reserve, ARGV[7] stale-after ms, ARGV[8] poll ms, ARGV[9] grant id.
// Returns {1, id} or {0, "wait ms"} (floats travel as strings: Lua numbers become integers).
const ACQUIRE = `${COMMON}
local reserve = tonumber(ARGV[6])
local poll = tonumber(ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - tonumber(ARGV[7]))
local count = redis.call('ZCARD', KEYS[2])
local function grant()
  redis.call('ZADD', KEYS[2], now, ARGV[9])
  redis.call('PEXPIRE', KEYS[2], ttl)
  return {1, ARGV[9]}
end
if room == nil then
  -- No answer on this token yet: one request at a time until one reports the room. Answers without
  -- the header (a Canvas that does not throttle this client) leave nothing to pace on.
  if count == 0 or state[4] then return grant() end
  return {0, tostring(poll)}
end
local hold = math.max(up, avg or 0, 1e-9)
local needed = count * hold + up + reserve
local full = math.max(hwm, room)
if needed > full then
  if count > 0 then return {0, tostring(poll)} end
  needed = full
end
if room >= needed then return grant() end
local wait = (needed - room) / leak * 1000
if count > 0 then wait = math.min(wait, poll) end
return {0, tostring(wait)}
`;

// ARGV[6] kind (answer | throttled | none), ARGV[7] remaining or "", ARGV[8] cost or "", ARGV[9] id.
const RELEASE = `${COMMON}
redis.call('ZREM', KEYS[2], ARGV[9])
local kind = ARGV[6]
if kind == 'none' then return 0 end
-- Our other requests (every process's) still in flight.
local others = redis.call('ZCARD', KEYS[2])
if kind == 'throttled' then
  -- Refused means: the room was at most the up-front cost of what was in flight, the refused one included.
  local proven = (others + 1) * up
  if room ~= nil and room < proven then proven = room end
  redis.call('HSET', KEYS[1], 'settled', proven, 'at', now)
  redis.call('PEXPIRE', KEYS[1], ttl)
  return 1
end
local remaining = tonumber(ARGV[7])
local cost = tonumber(ARGV[8])
if cost ~= nil and cost >= 0 then
  if avg == nil then avg = cost else avg = avg * 0.8 + cost * 0.2 end
  redis.call('HSET', KEYS[1], 'avg', avg)
else
  cost = nil
end
if remaining == nil and room == nil then redis.call('HSET', KEYS[1], 'blind', 1) end
if remaining ~= nil then
  -- The header proves the room lies between remaining and remaining + the others' up-front cost.
  local lowest = remaining
  local highest = math.max(lowest, math.min(remaining + others * up, hwm))
  local accounted = highest
  if room ~= nil then accounted = room - (cost or avg or 0) end
  redis.call('HSET', KEYS[1], 'settled', math.min(highest, math.max(lowest, accounted)), 'at', now)
end
redis.call('PEXPIRE', KEYS[1], ttl)
return 1
`;

interface BudgetCommands {
  easelBudgetAcquire(...args: Array<string | number>): Promise<[number, string]>;
  easelBudgetRelease(...args: Array<string | number>): Promise<number>;
}

/** Where the Redis is, for messages: never the password. */
function describeUrl(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname.length > 1 ? url.pathname : ""}`;
}

/** The key suffix for an identity: a one-way hash, so Redis never sees a token. */
export function budgetKey(identity: string): string {
  return createHash("sha256").update("easel-rate-limit\0").update(identity).digest("hex").slice(0, 32);
}

/**
 * A `RateLimitBudget` in Redis: every process given the same `identity` and Redis paces on one view
 * of the token's bucket. Give it to the client as `pacing: { budget }`.
 */
export class RedisRateLimitBudget implements RateLimitBudget {
  readonly #redis: Redis & BudgetCommands;
  readonly #keys: [string, string];
  readonly #where: string;
  readonly #inFlightTtlMs: number;
  readonly #pollMs: number;
  readonly #idleTtlMs: number;
  readonly #tag = randomBytes(6).toString("hex");
  #sequence = 0;
  #closed: Promise<void> | undefined;

  constructor(options: RedisRateLimitBudgetOptions) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw new RateLimitBudgetOptionsError(
        "The shared rate-limit budget needs a redis:// or rediss:// URL (e.g. redis://cache:6379/0).",
      );
    }
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") {
      throw new RateLimitBudgetOptionsError(
        `The shared rate-limit budget needs a redis:// or rediss:// URL; got ${url.protocol}//${url.host}.`,
      );
    }
    if (typeof options.identity !== "string" || options.identity.length === 0) {
      throw new RateLimitBudgetOptionsError(
        "The shared rate-limit budget needs a non-empty identity for the Canvas token it paces.",
      );
    }
    const prefix = options.prefix ?? "easel:rate-limit:";
    const key = `${prefix}${budgetKey(options.identity)}`;
    this.#keys = [key, `${key}:in-flight`];
    this.#where = describeUrl(url);
    this.#inFlightTtlMs = positive("inFlightTtlMs", options.inFlightTtlMs, 60_000);
    this.#pollMs = positive("pollIntervalMs", options.pollIntervalMs, 25);
    this.#idleTtlMs = positive("idleTtlMs", options.idleTtlMs, 3_600_000);
    const redis = new Redis(options.url, {
      // Fail fast while Redis is down, so the pacer falls back to its own view instead of stalling:
      // a command is rejected after one reconnection attempt or `commandTimeout`.
      // (ioredis README, "Auto-reconnect": maxRetriesPerRequest; "commandTimeout".)
      maxRetriesPerRequest: 1,
      commandTimeout: positive("commandTimeoutMs", options.commandTimeoutMs, 2_000),
      enableReadyCheck: true,
    }) as Redis & BudgetCommands;
    // Failures reach the caller through the rejected command; without a listener ioredis prints them.
    redis.on("error", () => {});
    redis.defineCommand("easelBudgetAcquire", { numberOfKeys: 2, lua: ACQUIRE });
    redis.defineCommand("easelBudgetRelease", { numberOfKeys: 2, lua: RELEASE });
    this.#redis = redis;
  }

  async acquire(request: BudgetRequest): Promise<BudgetGrant> {
    const { now, model } = request;
    const id = `${this.#tag}-${(this.#sequence++).toString(36)}`;
    const [granted, value] = await this.#run(() =>
      this.#redis.easelBudgetAcquire(
        ...this.#keys,
        now,
        model.bucketSize,
        model.leakPerSecond,
        model.upFrontCost,
        this.#idleTtlMs,
        model.reserve,
        this.#inFlightTtlMs,
        this.#pollMs,
        id,
      ),
    );
    return granted === 1 ? { granted: true, id: value } : { granted: false, retryInMs: Number(value) };
  }

  async release(id: string, outcome: BudgetOutcome): Promise<void> {
    const { now, model } = outcome;
    const kind = outcome.kind === "no-answer" ? "none" : outcome.kind;
    const remaining = outcome.kind === "answer" && outcome.remaining !== undefined ? outcome.remaining : "";
    const cost = outcome.kind === "answer" && outcome.cost !== undefined ? outcome.cost : "";
    await this.#run(() =>
      this.#redis.easelBudgetRelease(
        ...this.#keys,
        now,
        model.bucketSize,
        model.leakPerSecond,
        model.upFrontCost,
        this.#idleTtlMs,
        kind,
        remaining,
        cost,
        id,
      ),
    );
  }

  /** Closes the connection (requests still counted in flight expire after `inFlightTtlMs`). */
  close(): Promise<void> {
    this.#closed ??= this.#redis.quit().then(
      () => undefined,
      () => this.#redis.disconnect(),
    );
    return this.#closed;
  }

  async #run<T>(command: () => Promise<T>): Promise<T> {
    if (this.#closed) throw new RateLimitBudgetUnavailableError("The shared rate-limit budget is closed.");
    try {
      return await command();
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      throw new RateLimitBudgetUnavailableError(
        `Redis at ${this.#where} did not answer for the shared rate-limit budget (${reason}). Check that it is up and reachable.`,
        { cause: error },
      );
    }
  }
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw new RateLimitBudgetOptionsError(`RedisRateLimitBudget option "${name}" must be a number > 0.`);
  }
  return value;
}
