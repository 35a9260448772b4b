import type { Command } from "commander";

/** `easel token show|import|export|refresh|rotate|revoke`. */
export function registerTokenCommands(program: Command): void {
  program.command("token").description("Inspect and manage the stored Canvas credential.");
}
