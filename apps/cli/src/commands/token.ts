import { type Command, InvalidArgumentError, Option } from "commander";
import type { StoreFlags } from "../actions/config.js";

const STORE_HELP = `
Where the record lives:
  --store, else EASEL_TOKEN_STORE, else file:$XDG_CONFIG_HOME/easel/tokens/ (~/.config/easel/tokens/).
  URIs: memory:, file:PATH (one record, shared with Python jobs), file:DIR/ (one file per key).
  --key, else EASEL_TOKEN_KEY, else "default". File stores need EASEL_FERNET_KEY (easel key generate).`;

export interface ShowFlags extends StoreFlags {
  json?: boolean;
}

export interface ImportFlags extends StoreFlags {
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
}

export interface ExportFlags extends StoreFlags {
  reveal?: boolean;
}

/** `easel token show|import|export`; refresh, rotate and revoke join from `registerAuthCommands`. */
export function registerTokenCommands(program: Command): void {
  const token = program
    .command("token")
    .description("Inspect and manage the stored Canvas credential.")
    .addHelpText(
      "after",
      `
Examples:
  $ easel token show                              # what is stored, without its secrets
  $ easel token import --key robot < token.json   # store a record (or --access-token)
  $ easel token refresh                           # refresh an OAuth token now
${STORE_HELP}`,
    );

  withStoreOptions(token.command("show"))
    .description("Show the stored credential without its secrets (fingerprint, expiry, user, scope).")
    .option("--json", "print one JSON object instead of text")
    .addHelpText(
      "after",
      `
Example:
  $ easel token show
  $ easel token show --store file:/srv/jobs/canvas-token.enc --json | jq .expires_in_seconds
${STORE_HELP}`,
    )
    .action(async (flags: ShowFlags) => (await import("../actions/token.js")).showToken(flags));

  withStoreOptions(token.command("import"))
    .description("Store one credential: a JSON record on stdin, or the --access-token flags.")
    .option(
      "--access-token <token>",
      "the access token (prefer stdin: flags show up in `ps` and shell history)",
    )
    .option("--refresh-token <token>", "the refresh token, with --access-token")
    .addOption(
      new Option(
        "--expires-in <seconds>",
        "seconds until the access token expires, with --access-token",
      ).argParser(parseSeconds),
    )
    .addHelpText(
      "after",
      `
Example:
  $ curl -s -X POST "$CANVAS_BASE_URL/login/oauth2/token" ... | easel token import
  $ echo '{"access_token": "1234~abc", "token_type": "Bearer"}' | easel token import --key robot
  $ easel token import --access-token "$TOKEN" --refresh-token "$REFRESH" --expires-in 3600

The record is validated before anything is written; a record with expires_in but no expires_at
gets expires_at = now + expires_in. The write happens under the store's lock.
${STORE_HELP}`,
    )
    .action(async (flags: ImportFlags) => (await import("../actions/token.js")).importToken(flags));

  withStoreOptions(token.command("export"))
    .description("Print the stored record as JSON, secrets included: only with --reveal.")
    .option("--reveal", "really print the access and refresh tokens in clear text")
    .addHelpText(
      "after",
      `
Example:
  $ easel token export --reveal > token.json && chmod 600 token.json
  $ easel token export --reveal --store file:old.enc | easel token import --store file:new-dir/
${STORE_HELP}`,
    )
    .action(async (flags: ExportFlags) => (await import("../actions/token.js")).exportToken(flags));
}

function withStoreOptions(command: Command): Command {
  return command
    .option("--store <uri>", "token store URI (default: EASEL_TOKEN_STORE, else the per-user file store)")
    .option("--key <key>", 'record key (default: EASEL_TOKEN_KEY, else "default")');
}

function parseSeconds(value: string): number {
  const seconds = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(seconds)) {
    throw new InvalidArgumentError("expected a number of seconds.");
  }
  return seconds;
}
