import { type Command, Option } from "commander";
import { days, integerIn, port } from "../option-parsers.js";
import { withSimulatedData } from "./sim.js";

export interface ServeFlags {
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
  listCacheTtl: number;
  cache?: string;
  trustedDocuments?: string;
  redirectUri?: string;
  logLevel: string;
  expiryWarningDays?: number;
  scopes?: string;
  refreshBuffer?: number;
  replaceTokens?: boolean;
}

export interface DemoFlags {
  port: number;
  simPort: number;
  host: string;
  seed: number;
  courses: number;
  students: number;
  assignments: number;
  verbose?: boolean;
}

/** `easel serve` and `easel demo`. */
export function registerServeCommands(program: Command): void {
  program
    .command("serve")
    .description("Run the GraphQL gateway over Canvas (grades, attendance, engagement) from env and flags.")
    .option("--port <port>", "TCP port (0 picks a free one)", port, 4000)
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
    .option("--request-timeout <ms>", "budget of one GraphQL request", integerIn(1, 3_600_000), 30_000)
    .addOption(
      new Option(
        "--list-cache-ttl <seconds>",
        "reuse whole Canvas lists (roster, summaries, submissions...) across requests of one credential this long; 0 = off",
      )
        .env("EASEL_GATEWAY_LIST_CACHE_TTL")
        .argParser(integerIn(0, 86_400))
        .default(60),
    )
    .addOption(
      new Option(
        "--cache <url>",
        "share the list cache, sessions and logins with other replicas: redis://HOST:PORT/DB?prefix=... (values encrypted with EASEL_FERNET_KEY)",
      ).env("EASEL_GATEWAY_CACHE"),
    )
    .addOption(
      new Option(
        "--trusted-documents <manifest>",
        "run only the operations of this JSON manifest (easel gateway register-operations writes it)",
      ).env("EASEL_GATEWAY_TRUSTED_DOCUMENTS"),
    )
    .addOption(
      new Option(
        "--expiry-warning-days <days>",
        "service mode: warn at start when the stored personal token expires within this many days (env EASEL_EXPIRY_WARNING_DAYS; default 14)",
      ).argParser(days),
    )
    .addOption(
      new Option(
        "--scopes <scopes>",
        "user mode: space- or comma-separated Canvas scopes to request, for a scoped developer key",
      ).env("EASEL_GATEWAY_SCOPES"),
    )
    .addOption(
      new Option(
        "--replace-tokens",
        "user mode: at login, have Canvas delete the person's earlier tokens for this key (env EASEL_GATEWAY_REPLACE_TOKENS=1)",
      ),
    )
    .addOption(
      new Option("--refresh-buffer <seconds>", "refresh OAuth tokens when less than this many seconds remain")
        .env("EASEL_TOKEN_REFRESH_BUFFER")
        .argParser(integerIn(0, 86_400))
        .default(300),
    )
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
  EASEL_GATEWAY_SCOPES, EASEL_GATEWAY_REPLACE_TOKENS=1   as --scopes and --replace-tokens
  Logout (POST /auth/logout) revokes the person's Canvas token and deletes their record.
Both modes:
  EASEL_TOKEN_REFRESH_BUFFER     seconds, as --refresh-buffer (the flag wins).
  EASEL_EXPIRY_WARNING_DAYS      as --expiry-warning-days; /metrics has easel_gateway_token_expiry_seconds.
  EASEL_GATEWAY_LIST_CACHE_TTL   seconds, as --list-cache-ttl (the flag wins). Changes made in Canvas
                          itself show after at most this long; the gateway's own mutations show at once.
  EASEL_GATEWAY_TRUSTED_DOCUMENTS   as --trusted-documents: production runs registered operations only.
  EASEL_GATEWAY_CACHE     as --cache: N replicas behind a load balancer share one Redis and behave as
                          one (one Canvas walk per list, logins and sessions valid on every replica).
                          Needs EASEL_FERNET_KEY (the same on every replica). Unset: in this process.
Examples:
  $ EASEL_GATEWAY_KEYS=$(openssl rand -hex 24) easel serve --base-url https://school.instructure.com --store redis://127.0.0.1:6379
  $ easel serve --mode user --store redis://127.0.0.1:6379 --cors https://app.example.edu
  $ EASEL_GATEWAY_CACHE=redis://127.0.0.1:6379/0?prefix=easel:gw: easel serve --mode user --store redis://127.0.0.1:6379
Endpoints: POST /graphql, /healthz, /readyz, /metrics (Prometheus), /auth/login|callback|logout (user mode).`,
    )
    .action(async (flags: ServeFlags) => (await import("../actions/serve.js")).serve(flags));

  const demo = program
    .command("demo")
    .description(
      "Run the Canvas simulator and the gateway in one process, with seeded data: try Easel in a minute.",
    )
    .option("--port <port>", "gateway port (0 picks a free one)", port, 4000)
    .option("--sim-port <port>", "simulator port (0 picks a free one)", port, 0)
    .option("--host <host>", "interface to listen on", "127.0.0.1");
  withSimulatedData(demo, { courses: 3, students: 30, assignments: 10 })
    .option("--verbose", "log every request (JSON lines on stderr)")
    .addHelpText(
      "after",
      `
The gateway runs in service mode on the simulator's developer token, held in an in-memory
store; a fresh API key is generated and printed. Stop with Ctrl+C (or SIGTERM).

Examples:
  $ easel demo
  $ easel demo --port 8080 --courses 10 --students 200 --seed 7`,
    )
    .action(async (flags: DemoFlags) => (await import("../actions/serve.js")).demo(flags));
}
