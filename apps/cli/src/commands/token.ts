import { type Command, InvalidArgumentError, Option } from "commander";
import type { StoreFlags } from "../actions/config.js";
import { days } from "../option-parsers.js";

const STORE_HELP = `
Where the record lives:
  --store, else EASEL_TOKEN_STORE, else file:$XDG_CONFIG_HOME/easel/tokens/ (~/.config/easel/tokens/).
  URIs: memory:, file:PATH (one record, shared with Python jobs), file:DIR/ (one file per key).
  --key, else EASEL_TOKEN_KEY, else "default". File stores need EASEL_FERNET_KEY (easel key generate).`;

export interface ShowFlags extends StoreFlags {
  json?: boolean;
}

export interface ImportFlags extends StoreFlags {
  baseUrl?: string;
  accessToken?: string;
  refreshToken?: string;
  expiresIn?: number;
}

export interface ExportFlags extends StoreFlags {
  reveal?: boolean;
}

export interface CheckFlags extends StoreFlags {
  baseUrl?: string;
  expiryWarningDays?: number;
}

export interface AdoptFlags extends StoreFlags {
  baseUrl?: string;
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
  $ easel token check                             # for monitoring: exit 0 / 1 (expiring) / 3 (expired)
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
    .option(
      "--base-url <url>",
      "Canvas root URL (env CANVAS_BASE_URL): a personal token's expiry is looked up there and stored",
    )
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
gets expires_at = now + expires_in. The write happens under the store's lock. With a Canvas URL
(--base-url or CANVAS_BASE_URL), a personal token's expiry is looked up through the Access Tokens
API and stored, so \`easel token check\` and long-running commands can warn before it expires;
exit 3 if Canvas does not accept the token.
${STORE_HELP}`,
    )
    .action(async (flags: ImportFlags) => (await import("../actions/token.js")).importToken(flags));

  withStoreOptions(token.command("check"))
    .description("For monitoring: exit 0 valid, 1 expiring within the warning window, 3 expired or revoked.")
    .option(
      "--base-url <url>",
      "Canvas root URL (env CANVAS_BASE_URL); without it only the stored expiry is checked",
    )
    .addOption(
      new Option("--expiry-warning-days <days>", "the warning window (env EASEL_EXPIRY_WARNING_DAYS)")
        .argParser(days)
        .default(undefined, "14"),
    )
    .addHelpText(
      "after",
      `
Checks the stored credential at Canvas (a personal token's expiry is looked up and recorded; an
OAuth token is used once, refreshed if due) and prints one line: OK, WARNING or CRITICAL.

Exit codes: 0 valid beyond the window, 1 expires within it (the line says when), 3 expired,
revoked or nothing stored.

Example (cron, Nagios, a Kubernetes probe):
  $ easel token check --key robot --expiry-warning-days 21 || alert "Canvas token: exit $?"
${STORE_HELP}`,
    )
    .action(async (flags: CheckFlags) => (await import("../actions/token-lifecycle.js")).checkToken(flags));

  token
    .command("adopt")
    .description("Take over the Python token manager's cache: check it decrypts, make it private, show it.")
    .requiredOption("--store <uri>", "the cache, file:PATH")
    .option("--key <key>", "record key (single-file caches hold one record)")
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL): look up a missing expiry")
    .addHelpText(
      "after",
      `
The key is EASEL_FERNET_KEY, else TOKEN_ENCRYPTION_KEY (the Python manager's name for it, used with
a notice). A cache readable by other users (e.g. 0644) is changed to 0600 after saying so. Nothing
is rewritten: both programs can keep sharing the file.

Example:
  $ TOKEN_ENCRYPTION_KEY=... easel token adopt --store file:/srv/jobs/canvas-token.enc`,
    )
    .action(async (flags: AdoptFlags) => (await import("../actions/token-lifecycle.js")).adoptToken(flags));

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
