import { type Command, InvalidArgumentError, Option } from "commander";
import { CANVAS_AUTH_HELP, type CanvasFlags, withCanvasOptions } from "../canvas-options.js";

/** Flags every `easel tokens` subcommand shares. */
export interface TokensFlags extends CanvasFlags {
  /** Whose tokens: a Canvas user id, `sis_user_id:X`, or `self`. */
  user: string;
  json?: boolean;
}

export interface TokenChangeFlags extends TokensFlags {
  purpose?: string;
  expiresAt?: string;
  /** Seconds, parsed from `90d`, `12h`, `30m` or plain seconds. */
  expiresIn?: number;
  scope?: string[];
  /** Write the full new token into this store instead of printing it. */
  intoStore?: string;
  intoKey?: string;
}

export interface TokenUpdateFlags extends TokenChangeFlags {
  regenerate?: boolean;
}

/** Where the commands write; tests may pass their own. */
export interface TokensCommandContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const defaultContext = (): TokensCommandContext => ({
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});

const HELP = `
Canvas's Access Tokens API, for operators: personal access tokens of a functional user, or (as an
admin with the "Manage Access Tokens" permissions) of anyone, with --user. A token an admin creates
for someone else is PENDING: it works only once that user accepts it in Canvas.

Examples:
  $ easel tokens list                                     # your manually generated tokens
  $ easel tokens list --user 4312 --json | jq '.[] | select(.workflow_state == "pending")'
  $ easel tokens show 8891                                # by id, or by the 5-character hint
  $ easel tokens create --purpose "nightly export" --expires-in 90d --into-store file:/srv/easel/robot.enc
  $ easel tokens create --user 4312 --purpose "grades sync" --expires-at 2027-06-30T00:00:00Z
  $ easel tokens update 8891 --regenerate --expires-in 90d --into-store redis://cache:6379 --into-key robot
  $ easel tokens delete 8891

A full token is shown only by create and update --regenerate. With --into-store it goes straight
into that store (Fernet-encrypted, under the store's lock) and never reaches the terminal.
${CANVAS_AUTH_HELP}`;

/** `easel tokens list|show|create|update|delete`. */
export function registerTokensCommands(
  program: Command,
  context: TokensCommandContext = defaultContext(),
): void {
  const tokens = program
    .command("tokens")
    .description("Canvas's Access Tokens API: list, show, create, update (regenerate) and delete tokens.")
    .addHelpText("after", HELP);
  const load = () => import("../actions/tokens.js");

  common(tokens.command("list"))
    .description("List a user's manually generated tokens (never their secrets).")
    .action(async (flags: TokensFlags) => (await load()).listTokens(flags, context));

  common(tokens.command("show"))
    .description("Show one token by id or 5-character hint.")
    .argument("<id>", "token id or the 5-character token hint")
    .action(async (id: string, flags: TokensFlags) => (await load()).showToken(id, flags, context));

  changes(common(tokens.command("create")))
    .description("Create a token (for another user with --user: pending until they accept it).")
    .action(async (flags: TokenChangeFlags) => (await load()).createToken(flags, context));

  changes(common(tokens.command("update")))
    .description("Change a token's purpose, expiry or scopes, or --regenerate its secret.")
    .argument("<id>", "token id or the 5-character token hint")
    .option("--regenerate", "replace the token string; the old one stops working at once")
    .action(async (id: string, flags: TokenUpdateFlags) => (await load()).updateToken(id, flags, context));

  common(tokens.command("delete"))
    .description("Delete a token; it stops working at once.")
    .argument("<id>", "token id or the 5-character token hint")
    .action(async (id: string, flags: TokensFlags) => (await load()).deleteToken(id, flags, context));
}

function common(command: Command): Command {
  return withCanvasOptions(command)
    .option("--user <id>", "whose tokens: a user id, sis_user_id:X, or self (admins: anyone)", "self")
    .option("--json", "print JSON (for scripts) instead of text");
}

function changes(command: Command): Command {
  return command
    .option("--purpose <text>", "what the token is for (required by create)")
    .option("--expires-at <date>", "expiry, ISO 8601 (e.g. 2027-06-30T00:00:00Z)")
    .addOption(
      new Option("--expires-in <duration>", "expiry from now: 90d, 12h, 30m or seconds")
        .argParser(parseDuration)
        .conflicts("expiresAt"),
    )
    .option(
      "--scope <scope>",
      "a scope (repeatable), e.g. 'url:GET|/api/v1/courses'; Canvas ignores scopes unless the key requires them",
      collect,
    )
    .option("--into-store <uri>", "write the full new token into this store instead of printing it")
    .option("--into-key <name>", 'record key in --into-store (default EASEL_TOKEN_KEY, else "default")');
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/** `90d`, `12h`, `30m`, `45s`, `2w` or plain seconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)([smhdw]?)$/.exec(value.trim());
  if (!match || Number(match[1]) <= 0) {
    throw new InvalidArgumentError("expected a duration like 90d, 12h, 30m or a number of seconds.");
  }
  return Number(match[1]) * (UNIT_SECONDS[match[2] || "s"] ?? 1);
}
