import { Command, CommanderError } from "commander";
import { registerAuthCommands } from "./commands/auth.js";
import { registerExportCommand } from "./commands/export.js";
import { registerKeyCommands } from "./commands/key.js";
import { registerServeCommands } from "./commands/serve.js";
import { registerSimCommand } from "./commands/sim.js";
import { registerSyncCommands } from "./commands/sync.js";
import { registerTokenCommands } from "./commands/token.js";
import { CliExit, EXIT_FAILURE, EXIT_REAUTH, EXIT_USAGE, UsageError } from "./exit-codes.js";

/** Builds the `easel` program. Each command group registers itself from its own file. */
export function buildProgram(): Command {
  const program = new Command("easel")
    .description("Keep Canvas LMS credentials alive for unattended jobs, and get Canvas data out.")
    .showHelpAfterError("(run with --help for usage)")
    .exitOverride();
  // Command groups, one file each: keep this list in one place.
  registerTokenCommands(program);
  registerSimCommand(program);
  registerKeyCommands(program);
  registerAuthCommands(program);
  registerExportCommand(program);
  registerServeCommands(program);
  registerSyncCommands(program);
  return program;
}

/** Runs the CLI and returns the exit code instead of exiting, so tests can call it in-process. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync([...argv]);
    return 0;
  } catch (error) {
    return reportError(error);
  }
}

function reportError(error: unknown): number {
  if (error instanceof CommanderError) {
    // Help and version output are not failures.
    if (error.code === "commander.helpDisplayed" || error.code === "commander.version") return 0;
    if (error.code === "commander.help") return 0;
    return error.exitCode === 0 ? 0 : EXIT_USAGE;
  }
  if (error instanceof CliExit) {
    process.stderr.write(`easel: ${error.message}\n`);
    return error.exitCode;
  }
  if (error instanceof UsageError) {
    process.stderr.write(`easel: ${error.message}\n`);
    return EXIT_USAGE;
  }
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === "REAUTH_REQUIRED") {
    process.stderr.write(`easel: ${message}\n`);
    return EXIT_REAUTH;
  }
  process.stderr.write(`easel: ${typeof code === "string" ? `[${code}] ` : ""}${message}\n`);
  return EXIT_FAILURE;
}
