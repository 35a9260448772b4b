import { Command, CommanderError } from "commander";
import { registerAuthCommands } from "./commands/auth.js";
import { registerExportCommand } from "./commands/export.js";
import { registerGatewayCommands } from "./commands/gateway.js";
import { registerKeyCommands } from "./commands/key.js";
import { registerServeCommands } from "./commands/serve.js";
import { registerSimCommand } from "./commands/sim.js";
import { registerSyncCommands } from "./commands/sync.js";
import { registerTokenCommands } from "./commands/token.js";
import { registerTokensCommands } from "./commands/tokens.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, EXIT_USAGE, UsageError } from "./exit-codes.js";
import { redactSecrets } from "./redact.js";

/**
 * Builds the `easel` program. Each command group registers itself from its own file; a command's
 * implementation (and the libraries it needs) loads only when that command runs, so `--help`,
 * `token show` and cron's quick calls do not pay for the gateway, the sync queue or OpenID.
 */
export function buildProgram(): Command {
  const program = new Command("easel")
    .description("Keep Canvas LMS credentials alive for unattended jobs, and get Canvas data out.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride()
    .addHelpText("after", ROOT_HELP);
  // Command groups, one file each, listed under a heading each: keep this list in one place.
  program.commandsGroup("Credentials:");
  registerTokenCommands(program);
  registerAuthCommands(program); // login, logout; joins `token` with refresh, rotate and revoke
  registerTokensCommands(program);
  registerKeyCommands(program);
  program.commandsGroup("Canvas data:");
  registerExportCommand(program);
  registerSyncCommands(program);
  program.commandsGroup("Servers:");
  registerServeCommands(program);
  registerGatewayCommands(program);
  registerSimCommand(program);
  program.commandsGroup("Commands:");
  return program;
}

const ROOT_HELP = `
Examples:
  $ easel demo                     # a simulated Canvas and the GraphQL gateway, in a minute
  $ easel key generate             # a key for EASEL_FERNET_KEY, which encrypts stored tokens
  $ easel login                    # OAuth login (CANVAS_BASE_URL, CANVAS_CLIENT_ID/SECRET)
  $ easel token show               # what is stored, without its secrets
  $ easel token check              # monitoring: exit 0 ok, 1 expires within 14 days, 3 expired/revoked
  $ easel tokens list              # Canvas's Access Tokens API (create, update --regenerate, delete)
  $ easel export grades --course 101,102 --format csv --out grades.csv
  $ easel sync --to postgres://easel@db/warehouse --all-courses --term 3

Every command has --help with examples. Exit codes: 0 done, 1 failed, 2 usage,
3 Canvas needs a new authorization. EASEL_DEBUG=1 prints the details of an error.`;

/**
 * Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process.
 * Errors are reported on stderr: Easel's own wording as is, a documented code as `[CODE] message`,
 * anything else as one line (its stack with EASEL_DEBUG=1), with secrets blanked out.
 */
export async function runCli(argv: readonly string[], program: Command = buildProgram()): Promise<number> {
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

const DEBUG_HINT = "(run with EASEL_DEBUG=1 for details)";

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander printed the message already. Help and version output are not failures.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return 0;
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  const debug = isDebug(process.env.EASEL_DEBUG);
  const write = (text: string) => process.stderr.write(`${redactSecrets(text)}\n`);
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  let exitCode: number;
  if (error instanceof CliExit || error instanceof UsageError || code === "REAUTH_REQUIRED") {
    // Worded by Easel for this case: the message says what to do.
    write(`easel: ${message}`);
    exitCode =
      error instanceof CliExit ? error.exitCode : error instanceof UsageError ? EXIT_USAGE : EXIT_REAUTH;
  } else if (isKnownCode(code)) {
    // A documented failure (STORE_UNAVAILABLE, DECRYPT_FAILED, ...): its message names the cause.
    write(`easel: [${code}] ${message}`);
    exitCode = EXIT_FAILURE;
  } else {
    // A bug or a library failure nobody worded for a user: one line, the rest on request.
    write(`easel: unexpected error: ${firstLine(error)}`);
    if (!debug) write(DEBUG_HINT);
    exitCode = EXIT_FAILURE;
  }
  if (debug) write(details(error));
  return exitCode;
}

function isDebug(value: string | undefined): boolean {
  return value !== undefined && value !== "" && value !== "0" && value.toLowerCase() !== "false";
}

/**
 * Codes with a message meant for people: Easel's packages' (`STORE_UNAVAILABLE`, `EXPORT_ABORTED`),
 * the system's (`ENOENT`, `ECONNREFUSED`) and PostgreSQL's. Node's `ERR_*` mean a programming mistake.
 */
function isKnownCode(code: unknown): code is string {
  return typeof code === "string" && code !== "" && !code.startsWith("ERR_");
}

function firstLine(error: unknown): string {
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  const [line = ""] = text.split("\n");
  return line.trim() || "(no message)";
}

/** The stack and every cause's, for EASEL_DEBUG=1. */
function details(error: unknown): string {
  const parts: string[] = [];
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current) && parts.length < 10) {
    seen.add(current);
    const text =
      current instanceof Error ? (current.stack ?? `${current.name}: ${current.message}`) : String(current);
    parts.push(parts.length === 0 ? text : `Caused by: ${text}`);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\n");
}
