import type { Command } from "commander";

/** `easel key generate`. */
export function registerKeyCommands(program: Command): void {
  const key = program
    .command("key")
    .description("Manage the Fernet keys (EASEL_FERNET_KEY) that encrypt stored credentials.")
    .addHelpText(
      "after",
      `
Example:
  $ export EASEL_FERNET_KEY="$(easel key generate)"

File and Redis token stores encrypt every record with the first key of EASEL_FERNET_KEY and
decrypt with any of them: list a new key first to rotate, drop the old one once records are rewritten.`,
    );

  key
    .command("generate")
    .description("Print a new random Fernet key for EASEL_FERNET_KEY (the hint goes to stderr).")
    .addHelpText(
      "after",
      `
Example:
  $ easel key generate
  $ export EASEL_FERNET_KEY="$(easel key generate)"
  $ EASEL_FERNET_KEY="$(easel key generate),$EASEL_FERNET_KEY"   # rotate: new key first, old one after`,
    )
    .action(async () => {
      const { generateKey } = await import("@easel/fernet");
      // Only the key on stdout, so `$(easel key generate)` captures exactly the key.
      process.stdout.write(`${generateKey()}\n`);
      process.stderr.write(
        "Keep this key secret and safe (a password manager or secret store): records encrypted with it\n" +
          "cannot be read without it. Use it with:  export EASEL_FERNET_KEY=<the key above>\n" +
          "To rotate, list the new key first and the old one after: EASEL_FERNET_KEY=NEW,OLD\n",
      );
    });
}
