import { connect } from "node:net";

/** The machine's shared Redis (CI starts one). Tests only touch keys under their own prefix. */
export const REDIS_URL = process.env.REDIS_URL ?? "redis://127.0.0.1:6379";

/** Whether a Redis answers PING at `url` within half a second. */
export function redisAvailable(url = REDIS_URL): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect(Number(port || 6379), hostname || "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (data) => done(data.toString().startsWith("+PONG")));
  });
}

/** True when the environment says this is a CI run, where a missing service is a failure. */
export function inCi(env: NodeJS.ProcessEnv = process.env): boolean {
  const value = env.CI?.trim().toLowerCase();
  return value !== undefined && value !== "" && value !== "false" && value !== "0";
}

export interface RequireRedisOptions {
  /** @default REDIS_URL */
  readonly url?: string;
  /** Where `CI` is read. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * Decides what happens to tests that need the shared Redis when it does not answer: in CI
 * (`CI=true`) they fail, since CI provides Redis and a silent skip would hide a broken setup;
 * on a developer's machine they are skipped with a warning. Resolves true when Redis is up.
 *
 * @example
 * const redisUp = await requireRedis("the Redis refresh-storm cases");
 * describe.skipIf(!redisUp)("refresh storm on Redis", () => { ... });
 * @throws Error in CI when Redis does not answer.
 */
export async function requireRedis(what: string, options: RequireRedisOptions = {}): Promise<boolean> {
  const { url = REDIS_URL, env = process.env } = options;
  if (await redisAvailable(url)) return true;
  const where = new URL(url).host;
  if (inCi(env)) {
    throw new Error(
      `${what} need Redis, and none answers on ${where} (CI=${env.CI}). Start Redis or set REDIS_URL.`,
    );
  }
  console.warn(`Skipping ${what}: Redis is not answering on ${where} (in CI this fails).`);
  return false;
}

/** A Redis key prefix unique to this run, so parallel runs never see each other's records or locks. */
export function uniqueRedisPrefix(label: string): string {
  const random = Math.random().toString(36).slice(2, 8);
  return `easel-test:${label}:${process.pid}:${Date.now().toString(36)}:${random}:`;
}
