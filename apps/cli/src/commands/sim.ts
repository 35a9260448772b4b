import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { type Command, InvalidArgumentError } from "commander";
import { UsageError } from "../exit-codes.js";

interface SimFlags {
  port: number;
  host: string;
  seed: number;
  courses: number;
  students: number;
  assignments: number;
  json?: boolean;
  faults?: string;
  tokenTtl: number;
  throttleStatus: 429 | 403;
  autoApprove?: boolean;
}

function integer(min: number, max: number) {
  return (value: string): number => {
    if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return Number(value);
  };
}

function throttleStatus(value: string): 429 | 403 {
  if (value !== "429" && value !== "403") throw new InvalidArgumentError("expected 429 or 403");
  return Number(value) as 429 | 403;
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

function describe(sim: CanvasSim, flags: SimFlags): string {
  return [
    `Canvas simulator listening on ${sim.url}`,
    `  developer token    ${sim.developerToken}`,
    `  OAuth client id    ${sim.clientId}`,
    `  OAuth secret       ${sim.clientSecret}`,
    `  redirect URI       ${sim.redirectUri}  (any port on this host is accepted)`,
    `  public PKCE client ${sim.publicClientId}`,
    `  data               ${flags.courses} courses x ${flags.students} students x ${flags.assignments} assignments, seed ${flags.seed}`,
    `  control plane      ${sim.url}/__sim/stats`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n");
}

/** Starts the simulator; a bad option value (e.g. an unparsable --faults) is a usage error. */
async function startSim(options: Parameters<typeof createCanvasSim>[0]): Promise<CanvasSim> {
  try {
    return await createCanvasSim(options);
  } catch (error) {
    if ((error as { code?: unknown }).code === "ERR_INVALID_ARG_VALUE") {
      throw new UsageError((error as Error).message, { cause: error });
    }
    throw error;
  }
}

/** `easel sim`: runs the Canvas simulator until SIGTERM/SIGINT. */
export function registerSimCommand(program: Command): void {
  program
    .command("sim")
    .description(
      "Run the Canvas simulator: Canvas's OAuth2 and REST dialect over seeded data, with throttling and faults.",
    )
    .option("--port <port>", "TCP port (0 picks a free one)", integer(0, 65535), 3100)
    .option("--host <host>", "interface to listen on", "127.0.0.1")
    .option("--seed <n>", "seed of every generated value", integer(0, 2 ** 32 - 1), 1)
    .option("--courses <n>", "number of courses (ids 1..N)", integer(1, 100_000), 5)
    .option("--students <n>", "students per course", integer(1, 1_000_000), 200)
    .option("--assignments <n>", "assignments per course", integer(1, 10_000), 40)
    .option(
      "--json",
      "print exactly one JSON line {url, developerToken, clientId, clientSecret, redirectUri}",
    )
    .option(
      "--faults <spec>",
      "inject faults on every API route, e.g. 5xx:0.03,drop:0.01,throttle:0.02,slow:0.05",
    )
    .option(
      "--token-ttl <seconds>",
      "OAuth access token lifetime (expires_in)",
      integer(1, 315_360_000),
      3600,
    )
    .option(
      "--throttle-status <status>",
      "status of throttled requests: 429 (current Canvas) or 403 (legacy)",
      throttleStatus,
      429,
    )
    .option("--auto-approve", "approve /login/oauth2/auth without showing the consent page")
    .addHelpText(
      "after",
      `
Examples:
  $ easel sim --port 3100 --seed 1 --courses 5 --students 200 --assignments 40
  $ easel sim --port 0 --json --faults 5xx:0.03,drop:0.01,throttle:0.02,slow:0.05
  $ curl -H "Authorization: Bearer <developer token>" http://127.0.0.1:3100/api/v1/courses

Fault spec: comma-separated KIND[=MS]:AMOUNT[@ROUTE]; KIND is 5xx|500|502|503|401-expired|403-throttled|429|
throttle|slow|drop|truncate|malformed, AMOUNT a probability (0.05) or xN (the next N requests).
The simulator serves until SIGTERM or SIGINT, then closes cleanly.`,
    )
    .action(async (flags: SimFlags) => {
      const sim = await startSim({
        port: flags.port,
        host: flags.host,
        seed: flags.seed,
        courses: flags.courses,
        studentsPerCourse: flags.students,
        assignmentsPerCourse: flags.assignments,
        faults: flags.faults,
        tokenTtlSeconds: flags.tokenTtl,
        throttleStatus: flags.throttleStatus,
        autoApprove: flags.autoApprove === true,
      });
      const stopped = untilSignal();
      if (flags.json) {
        const { url, developerToken, clientId, clientSecret, redirectUri } = sim;
        process.stdout.write(
          `${JSON.stringify({ url, developerToken, clientId, clientSecret, redirectUri })}\n`,
        );
      } else {
        process.stdout.write(describe(sim, flags));
      }
      await stopped;
      await sim.close();
    });
}
