import { randomBytes } from "node:crypto";
import { developerToken, isLoopbackHttpUrl } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { canvasAuthSettings, credentialSource, type EaselEnvConfig, strategyForRecord } from "@easel/config";
import {
  createGatewayLogger,
  exampleQuery,
  type GatewayOptions,
  parseSharedCacheUrl,
  type RunningGateway,
  startGateway,
} from "@easel/gateway";
import { MemoryStore, type TokenStore } from "@easel/token-store";
import { pino } from "pino";
import type { DemoFlags, ServeFlags } from "../commands/serve.js";
import { UsageError } from "../exit-codes.js";
import { type Env, openStore, readEnv, redactStoreUri, selectStore, usage } from "./config.js";
import { bareTokenExpiryWarning, expiryWarning, expiryWarningDays } from "./expiry.js";
import { untilSignal } from "./signals.js";
import { startSim } from "./sim.js";

/** Gateway option and listen errors (bad values, port taken) as messages that say what to change. */
async function listen(options: Parameters<typeof startGateway>[0]): Promise<RunningGateway> {
  try {
    return await startGateway(options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_INVALID_ARG_VALUE") throw new UsageError((error as Error).message, { cause: error });
    if (code === "EADDRINUSE") {
      throw new UsageError(
        `Port ${options.port} on ${options.host} is in use: pass --port with another port (0 = any free one).`,
        {
          cause: error,
        },
      );
    }
    throw error;
  }
}

/** The service credential: CANVAS_ACCESS_TOKEN as is, else the stored record (refreshed when OAuth). */
async function serviceAuth(
  flags: ServeFlags,
  baseUrl: string,
  config: EaselEnvConfig,
  env: Env,
): Promise<{
  auth: Extract<GatewayOptions, { mode: "service" }>["auth"];
  store?: TokenStore;
  source: string;
}> {
  const settings = usage(() => canvasAuthSettings(config, { baseUrl, store: flags.store }));
  const source = credentialSource(settings);
  if (source.kind === "access-token") {
    const days = expiryWarningDays(flags.expiryWarningDays, env);
    const warning = await bareTokenExpiryWarning(source.token, baseUrl, days);
    if (warning) process.stderr.write(`easel: warning: ${warning}\n`);
    return { auth: source.token, source: "CANVAS_ACCESS_TOKEN" };
  }
  const { uri, key } = selectStore(flags, env);
  const store = await openStore(uri, env);
  try {
    const record = await store.get(key);
    if (!record) {
      throw new UsageError(
        `No Canvas credential under key "${key}" in ${redactStoreUri(uri)}: run \`easel login\` or \`easel token import\` first, or set CANVAS_ACCESS_TOKEN.`,
      );
    }
    const warning = expiryWarning(record, expiryWarningDays(flags.expiryWarningDays, env), `"${key}"`);
    if (warning) process.stderr.write(`easel: warning: ${warning}\n`);
    const strategy = usage(() => strategyForRecord(settings, record, { key }));
    return { auth: { strategy, store, key }, store, source: `${redactStoreUri(uri)} (key ${key})` };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes"].includes(value.trim().toLowerCase());
}

/** `--cache` / EASEL_GATEWAY_CACHE, checked before anything starts; the URL is never echoed (it may hold a password). */
function sharedCache(
  flags: ServeFlags,
  config: EaselEnvConfig,
): { cache?: string; cacheFernetKeys?: string } {
  if (flags.cache === undefined || flags.cache.trim() === "") return {};
  const parsed = parseSharedCacheUrl(flags.cache.trim());
  if ("error" in parsed) {
    throw new UsageError(
      `--cache (EASEL_GATEWAY_CACHE) is not a usable Redis URL: ${parsed.error}. ` +
        "Expected redis://[[user]:password@]host[:port][/db][?prefix=easel:gw:] (rediss:// for TLS).",
    );
  }
  if (!config.fernetKeys) {
    throw new UsageError(
      "--cache (EASEL_GATEWAY_CACHE) needs EASEL_FERNET_KEY: the shared cache holds student data and sessions, " +
        "encrypted with it. Set the same key on every replica (create one with `easel key generate`).",
    );
  }
  return { cache: flags.cache.trim(), cacheFernetKeys: config.fernetKeys };
}

/** `easel serve`: the gateway until SIGTERM/SIGINT. */
export async function serve(flags: ServeFlags): Promise<void> {
  const env = process.env;
  const config = readEnv(env);
  const baseUrl = flags.baseUrl ?? config.canvasBaseUrl;
  if (!baseUrl) throw new UsageError("--base-url or CANVAS_BASE_URL is required.");
  const common = {
    canvasBaseUrl: baseUrl,
    corsOrigins: (flags.cors ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    graphiql: flags.graphiql === true,
    introspection: flags.introspection === true,
    requestTimeoutMs: flags.requestTimeout,
    tokenRefreshBufferSeconds: flags.refreshBuffer,
    listCacheTtlSeconds: flags.listCacheTtl,
    ...sharedCache(flags, config),
    trustedDocuments: flags.trustedDocuments,
    logger: createGatewayLogger({ level: flags.logLevel }),
    port: flags.port,
    host: flags.host,
  };
  let running: RunningGateway;
  let store: TokenStore | undefined;
  let source: string;
  if (flags.mode === "service") {
    if (config.gatewayKeys.length === 0) {
      throw new UsageError(
        "EASEL_GATEWAY_KEYS is required in service mode (comma-separated API keys, 16+ characters).",
      );
    }
    const credential = await serviceAuth(flags, baseUrl, config, env);
    store = credential.store;
    source = credential.source;
    try {
      running = await listen({
        ...common,
        mode: "service",
        auth: credential.auth,
        apiKeys: config.gatewayKeys,
        store,
      });
    } catch (error) {
      await store?.close();
      throw error;
    }
  } else {
    if (!config.oauthClient?.clientSecret) {
      throw new UsageError(
        "User mode needs CANVAS_CLIENT_ID and CANVAS_CLIENT_SECRET (the Canvas developer key).",
      );
    }
    const { uri } = selectStore(flags, env);
    store = await openStore(uri, env);
    source = redactStoreUri(uri);
    let sessionSecret = env.EASEL_SESSION_SECRET;
    if (!sessionSecret && common.cache !== undefined) {
      await store.close();
      throw new UsageError(
        "--cache (EASEL_GATEWAY_CACHE) shares sessions between replicas: set EASEL_SESSION_SECRET (32+ characters), " +
          "the same on every replica, or a session made on one replica is refused by the others.",
      );
    }
    if (!sessionSecret) {
      sessionSecret = randomBytes(32).toString("base64url");
      process.stderr.write(
        "EASEL_SESSION_SECRET is not set: using a random one (sessions end when the gateway restarts).\n",
      );
    }
    try {
      running = await listen({
        ...common,
        mode: "user",
        oauth: {
          clientId: config.oauthClient.clientId,
          clientSecret: config.oauthClient.clientSecret,
          redirectUri: flags.redirectUri ?? config.oauthClient.redirectUri,
          scopes: flags.scopes?.split(/[\s,]+/).filter(Boolean),
          replaceTokens: flags.replaceTokens === true || isTrue(env.EASEL_GATEWAY_REPLACE_TOKENS),
          dangerouslyAllowInsecureHttp: isLoopbackHttpUrl(baseUrl),
        },
        store,
        sessionSecret,
      });
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  const shared = flags.cache ? parseSharedCacheUrl(flags.cache.trim()) : undefined;
  const sharing = shared && !("error" in shared) ? `, shared cache ${shared.safeUrl}` : "";
  process.stderr.write(
    `Easel gateway (${flags.mode} mode) on ${running.url}/graphql — Canvas ${baseUrl}, credentials from ${source}${sharing}.\n` +
      "Press Ctrl+C to stop.\n",
  );
  await untilSignal();
  await running.close();
  await store?.close();
}

/** `easel demo`: simulator + gateway in one process, in-memory store. */
export async function demo(flags: DemoFlags): Promise<void> {
  const sim = await startSim(
    {
      port: flags.simPort,
      host: flags.host,
      seed: flags.seed,
      courses: flags.courses,
      studentsPerCourse: flags.students,
      assignmentsPerCourse: flags.assignments,
    },
    "--sim-port",
  );
  const store = new MemoryStore();
  const strategy = developerToken({ baseUrl: sim.url, dangerouslyAllowInsecureHttp: true });
  let running: RunningGateway;
  const apiKey = `easel_demo_${randomBytes(18).toString("base64url")}`;
  try {
    await store.set("default", strategy.recordFor(sim.developerToken));
    running = await listen({
      mode: "service",
      canvasBaseUrl: sim.url,
      auth: { strategy, store, key: "default" },
      apiKeys: [apiKey],
      // Only here: the page needs no credential, and this key is the demo's own, on loopback by default.
      graphiql: {
        defaultQuery: exampleQuery("1"),
        title: "Easel demo",
        dangerouslyPrefillHeaders: { "x-api-key": apiKey },
      },
      introspection: true,
      logger: createGatewayLogger({ level: flags.verbose ? "info" : "warn" }, pino.destination(2)),
      port: flags.port,
      host: flags.host,
    });
  } catch (error) {
    await sim.close();
    throw error;
  }
  const stopped = untilSignal();
  process.stdout.write(demoBanner(running.url, sim, apiKey, flags));
  await stopped;
  process.stdout.write("\nStopping...\n");
  await running.close();
  await sim.close();
  await store.close();
  process.stdout.write("Stopped.\n");
}

/** Courses the banner details; more would push the instructions off the screen. */
const BANNER_COURSES = 5;

/**
 * Per course, how many students are enrolled and how many the API lists (`students { totalCount }`:
 * Canvas's default roster, active + invited + inactive); completed enrollments are concluded and
 * not listed, which is why a course can show fewer students than it has.
 */
function studentLines(sim: CanvasSim): string[] {
  const lines: string[] = [];
  const shown = Math.min(sim.data.courseCount, BANNER_COURSES);
  for (let courseId = 1; courseId <= shown; courseId++) {
    const { active, invited, inactive, completed } = sim.data.studentCounts(courseId);
    const states = Object.entries({ active, invited, inactive })
      .filter(([, count]) => count > 0)
      .map(([state, count]) => `${count} ${state}`);
    const listed = active + invited + inactive;
    const enrolled = listed + completed;
    const hidden = completed > 0 ? `; ${completed} completed, not listed` : "";
    lines.push(
      `${courseId === 1 ? "  Students     " : "               "} course ${courseId}: ${enrolled} enrolled, ${listed} listed (${states.join(", ")})${hidden}`,
    );
  }
  if (sim.data.courseCount > shown)
    lines.push(`                and ${sim.data.courseCount - shown} more courses`);
  lines.push('                "listed" = what the API returns (students { totalCount })');
  return lines;
}

function demoBanner(url: string, sim: CanvasSim, apiKey: string, flags: DemoFlags): string {
  const curlQuery = JSON.stringify({
    query:
      '{ course(id: "1") { name students(first: 3) { nodes { name grades { currentScore currentGrade finalScore } attendance { lastAttendedAt rollCallScore } engagement { pageViews participations } } } } }',
  });
  return [
    "",
    "Easel demo is running: a simulated Canvas and the GraphQL gateway in front of it.",
    "",
    `  GraphiQL      ${url}/graphql`,
    `  API key       ${apiKey}`,
    `  Canvas (sim)  ${sim.url}   ${flags.courses} courses x ${flags.students} students x ${flags.assignments} assignments, seed ${flags.seed}`,
    ...studentLines(sim),
    "",
    "1. Open the GraphiQL URL: the example query (grades, attendance and engagement of course 1) is",
    "   loaded, and the API key is already in its Headers tab (bottom left).",
    "2. Press the run button.",
    "",
    "Or from a shell:",
    `  curl -s ${url}/graphql \\`,
    "    -H 'content-type: application/json' \\",
    `    -H 'x-api-key: ${apiKey}' \\`,
    `    -d '${curlQuery}'`,
    "",
    `Operations: ${url}/healthz  ${url}/readyz  ${url}/metrics`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n");
}
