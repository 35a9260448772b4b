import { type Command, InvalidArgumentError } from "commander";
import { integerIn, port } from "../option-parsers.js";

export interface SimFlags {
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

function throttleStatus(value: string): 429 | 403 {
  if (value !== "429" && value !== "403") throw new InvalidArgumentError("expected 429 or 403");
  return Number(value) as 429 | 403;
}

/** Adds `--seed`, `--courses`, `--students` and `--assignments`: what the simulator generates. */
export function withSimulatedData(
  command: Command,
  defaults: { courses: number; students: number; assignments: number },
): Command {
  return command
    .option("--seed <n>", "seed of every generated value", integerIn(0, 2 ** 32 - 1), 1)
    .option("--courses <n>", "number of courses (ids 1..N)", integerIn(1, 100_000), defaults.courses)
    .option("--students <n>", "students per course", integerIn(1, 1_000_000), defaults.students)
    .option("--assignments <n>", "assignments per course", integerIn(1, 10_000), defaults.assignments);
}

/** `easel sim`: runs the Canvas simulator until SIGTERM/SIGINT. */
export function registerSimCommand(program: Command): void {
  const command = program
    .command("sim")
    .description(
      "Run the Canvas simulator: Canvas's OAuth2 and REST dialect over seeded data, with throttling and faults.",
    )
    .option("--port <port>", "TCP port (0 picks a free one)", port, 3100)
    .option("--host <host>", "interface to listen on", "127.0.0.1");
  withSimulatedData(command, { courses: 5, students: 200, assignments: 40 })
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
      integerIn(1, 315_360_000),
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
    .action(async (flags: SimFlags) => (await import("../actions/sim.js")).runSim(flags));
}
