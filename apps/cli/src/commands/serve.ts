import { randomBytes } from "node:crypto";
import { developerToken, isLoopbackHttpUrl, oauth } from "@easel/auth";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { ConfigError, readEnvConfig, redactStoreUri } from "@easel/config";
import {
  createGatewayLogger,
  exampleQuery,
  type GatewayOptions,
  type RunningGateway,
  startGateway,
} from "@easel/gateway";
import { MemoryStore, type TokenStore } from "@easel/token-store";
import { type Command, InvalidArgumentError, Option } from "commander";
import { pino } from "pino";
import { UsageError } from "../exit-codes.js";
import { openStore, selectStore } from "../store-option.js";

type Env = Readonly<Record<string, string | undefined>>;

interface ServeFlags {
  port: number;
  host: string;
  mode: "service" | "user";
  baseUrl?: string;
  store?: string;
  key?: string;
  cors?: string;
  graphiql?: boolean;
  introspection?: boolean;
  requestTimeout: number;
  redirectUri?: string;
  logLevel: string;
}

interface DemoFlags {
  port: number;
  simPort: number;
  host: string;
  seed: number;
  courses: number;
  students: number;
  assignments: number;
  verbose?: boolean;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

/** Resolves on the first SIGTERM or SIGINT. */
function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGTERM", stop);
      process.off("SIGINT", stop);
      resolve(signal);
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}

function envConfig(env: Env) {
  try {
    return readEnvConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) throw new UsageError(error.message, { cause: error });
    throw error;
  }
}

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
  env: Env,
): Promise<{
  auth: Extract<GatewayOptions, { mode: "service" }>["auth"];
  store?: TokenStore;
  source: string;
}> {
  const config = envConfig(env);
  if (!flags.store && config.canvasAccessToken) {
    return { auth: config.canvasAccessToken, source: "CANVAS_ACCESS_TOKEN" };
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
    const insecure = isLoopbackHttpUrl(baseUrl);
    const oauthRecord = typeof record.refresh_token === "string" && record.refresh_token !== "";
    if (oauthRecord && !config.oauthClient) {
      throw new UsageError(
        `The stored record "${key}" is an OAuth token: set CANVAS_CLIENT_ID and CANVAS_CLIENT_SECRET.`,
      );
    }
    const strategy = oauthRecord
      ? oauth({
          baseUrl,
          clientId: config.oauthClient!.clientId,
          clientSecret: config.oauthClient!.clientSecret,
          dangerouslyAllowInsecureHttp: insecure,
        })
      : developerToken({ baseUrl, dangerouslyAllowInsecureHttp: insecure });
    return { auth: { strategy, store, key }, store, source: `${redactStoreUri(uri)} (key ${key})` };
  } catch (error) {
    await store.close().catch(() => {});
    throw error;
  }
}

/** `easel serve` and `easel demo`. */
export function registerServeCommands(program: Command): void {
  program
    .command("serve")
    .description("Run the GraphQL gateway over Canvas (grades, attendance, engagement) from env and flags.")
    .option("--port <port>", "TCP port (0 picks a free one)", integer(0, 65535), 4000)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .addOption(
      new Option(
        "--mode <mode>",
        "service: one Canvas credential + API keys; user: each person logs in (OAuth)",
      )
        .choices(["service", "user"])
        .default("service"),
    )
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL)")
    .option("--store <uri>", "token store URI (env EASEL_TOKEN_STORE; default file:~/.config/easel/tokens/)")
    .option("--key <name>", 'service mode: record key in the store (env EASEL_TOKEN_KEY; default "default")')
    .option(
      "--cors <origins>",
      "comma-separated origins allowed to call from a browser, e.g. https://app.example.edu",
    )
    .option("--graphiql", "serve GraphiQL on GET /graphql")
    .option("--introspection", "allow introspection queries")
    .option("--request-timeout <ms>", "budget of one GraphQL request", integer(1, 3_600_000), 30_000)
    .option(
      "--redirect-uri <url>",
      "user mode: OAuth redirect URI (env CANVAS_REDIRECT_URI; default <origin>/auth/callback)",
    )
    .addOption(
      new Option("--log-level <level>", "log level (JSON lines on stdout)")
        .choices(["fatal", "error", "warn", "info", "debug", "trace"])
        .default("info"),
    )
    .addHelpText(
      "after",
      `
Service mode (one Canvas credential; clients send an API key):
  EASEL_GATEWAY_KEYS      comma-separated API keys (at least 16 characters each), required
  CANVAS_ACCESS_TOKEN     a developer token, or a stored record (--store/--key; OAuth records need
                          CANVAS_CLIENT_ID/CANVAS_CLIENT_SECRET to refresh; file stores need EASEL_FERNET_KEY)
User mode (each person logs in at /auth/login; their token is stored under user:<canvas id>):
  CANVAS_CLIENT_ID, CANVAS_CLIENT_SECRET   the Canvas developer key
  EASEL_SESSION_SECRET    signs session cookies (>= 32 chars); default: random, so restarts end sessions
Examples:
  $ EASEL_GATEWAY_KEYS=$(openssl rand -hex 24) easel serve --base-url https://school.instructure.com --store redis://127.0.0.1:6379
  $ easel serve --mode user --store redis://127.0.0.1:6379 --cors https://app.example.edu
Endpoints: POST /graphql, /healthz, /readyz, /metrics (Prometheus), /auth/login|callback|logout (user mode).`,
    )
    .action(async (flags: ServeFlags) => {
      const env = process.env;
      const config = envConfig(env);
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
        const credential = await serviceAuth(flags, baseUrl, env);
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
      process.stderr.write(
        `Easel gateway (${flags.mode} mode) on ${running.url}/graphql — Canvas ${baseUrl}, credentials from ${source}.\n` +
          "Press Ctrl+C to stop.\n",
      );
      await untilSignal();
      await running.close();
      await store?.close();
    });

  program
    .command("demo")
    .description(
      "Run the Canvas simulator and the gateway in one process, with seeded data: try Easel in a minute.",
    )
    .option("--port <port>", "gateway port (0 picks a free one)", integer(0, 65535), 4000)
    .option("--sim-port <port>", "simulator port (0 picks a free one)", integer(0, 65535), 0)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--seed <n>", "seed of the generated data", integer(0, 2 ** 32 - 1), 1)
    .option("--courses <n>", "courses", integer(1, 1000), 3)
    .option("--students <n>", "students per course", integer(1, 100_000), 30)
    .option("--assignments <n>", "assignments per course", integer(1, 1000), 10)
    .option("--verbose", "log every request (JSON lines on stderr)")
    .addHelpText(
      "after",
      `
The gateway runs in service mode on the simulator's developer token, held in an in-memory
store; a fresh API key is generated and printed. Stop with Ctrl+C (or SIGTERM).
Example:
  $ easel demo --port 4000`,
    )
    .action(async (flags: DemoFlags) => {
      let sim: CanvasSim;
      try {
        sim = await createCanvasSim({
          port: flags.simPort,
          host: flags.host,
          seed: flags.seed,
          courses: flags.courses,
          studentsPerCourse: flags.students,
          assignmentsPerCourse: flags.assignments,
        });
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        if (code === "ERR_INVALID_ARG_VALUE" || code === "SIM_LISTEN_FAILED") {
          throw new UsageError(`${(error as Error).message} (try another --sim-port, or 0)`, {
            cause: error,
          });
        }
        throw error;
      }
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
          graphiql: { defaultQuery: exampleQuery("1"), title: "Easel demo" },
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
    });
}

function demoBanner(url: string, sim: CanvasSim, apiKey: string, flags: DemoFlags): string {
  const curlQuery = JSON.stringify({
    query:
      '{ course(id: "1") { name students(first: 3) { nodes { name grades { currentScore finalScore } attendance { lastAttendedAt rollCallScore } engagement { pageViews participations } } } } }',
  });
  return [
    "",
    "Easel demo is running: a simulated Canvas and the GraphQL gateway in front of it.",
    "",
    `  GraphiQL      ${url}/graphql`,
    `  API key       ${apiKey}`,
    `  Canvas (sim)  ${sim.url}   ${flags.courses} courses x ${flags.students} students x ${flags.assignments} assignments, seed ${flags.seed}`,
    "",
    "1. Open the GraphiQL URL. The example query (grades, attendance and engagement of course 1) is loaded.",
    "2. Open the Headers tab (bottom left) and paste:",
    `     { "x-api-key": "${apiKey}" }`,
    "3. Press the run button.",
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
