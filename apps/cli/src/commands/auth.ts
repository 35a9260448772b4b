import { type Command, Option } from "commander";

/** Flags every auth command shares (values from flags win over the environment). */
export interface CommonFlags {
  baseUrl?: string;
  clientId?: string;
  clientSecret?: string;
  store?: string;
  key?: string;
}

export interface LoginFlags extends CommonFlags {
  redirectUri?: string;
  scopes?: string;
  purpose?: string;
  browser: boolean;
  timeout: string;
  forceLogin?: boolean;
}

export interface LogoutFlags extends CommonFlags {
  force?: boolean;
}

export interface RotateFlags extends CommonFlags {
  expiresAt?: string;
}

/** Where the auth commands read the environment; tests pass their own. */
export interface AuthCommandContext {
  env: Readonly<Record<string, string | undefined>>;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
}

const defaultContext = (): AuthCommandContext => ({
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});

/**
 * `easel login`, `easel logout`, and `easel token refresh|rotate|revoke`. The token
 * subcommands join the `token` command registered by `registerTokenCommands`, so call this after it.
 */
export function registerAuthCommands(program: Command, context: AuthCommandContext = defaultContext()): void {
  registerLogin(program, context);
  registerLogout(program, context);
  let token = program.commands.find((command) => command.name() === "token");
  if (!token)
    token = program.command("token").description("Inspect and manage the stored Canvas credential.");
  registerTokenRefresh(token, context);
  registerTokenRotate(token, context);
  registerTokenRevoke(token, context);
}

function commonOptions(command: Command, { oauthClient }: { oauthClient: boolean }): Command {
  command
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL), e.g. https://school.instructure.com")
    .option("--store <uri>", "token store URI (env EASEL_TOKEN_STORE; default file:~/.config/easel/tokens/)")
    .option("--key <name>", 'record key in the store (env EASEL_TOKEN_KEY; default "default")');
  if (oauthClient) {
    command
      .option("--client-id <id>", "developer key client id (env CANVAS_CLIENT_ID)")
      .addOption(
        new Option(
          "--client-secret <secret>",
          "developer key secret (env CANVAS_CLIENT_SECRET; prefer the env var: flags show up in `ps`)",
        ),
      );
  }
  return command;
}

function registerLogin(program: Command, context: AuthCommandContext): void {
  const command = program
    .command("login")
    .description(
      "Log in to Canvas with OAuth2 (authorization code + PKCE) and store the credential, refresh token included.",
    );
  commonOptions(command, { oauthClient: true })
    .option(
      "--redirect-uri <uri>",
      "redirect URI registered on the developer key (env CANVAS_REDIRECT_URI; default http://127.0.0.1:<free port>/callback)",
    )
    .option("--scopes <scopes>", "space- or comma-separated Canvas scopes, for a scoped developer key")
    .option(
      "--purpose <text>",
      "label Canvas shows on the token (Account > Settings > Approved Integrations)",
    )
    .option("--no-browser", "do not try to open a browser; print the URL only (headless machines)")
    .option("--force-login", "make Canvas ask for credentials even when a browser session exists")
    .option("--timeout <seconds>", "how long to wait for the browser to come back", "300")
    .addHelpText(
      "after",
      `
Easel listens on 127.0.0.1 (a free port, RFC 8252) for Canvas's redirect, checks the state,
exchanges the code with the PKCE verifier and stores the record under --key. Without
--client-secret the developer key is treated as a public client (PKCE only).
If --redirect-uri is not a loopback URL, paste the URL the browser ends on when asked.

Examples:
  $ export CANVAS_BASE_URL=https://school.instructure.com CANVAS_CLIENT_ID=10000000000042
  $ export CANVAS_CLIENT_SECRET=... EASEL_FERNET_KEY=...
  $ easel login
  $ easel login --no-browser --key reports --store redis://127.0.0.1:6379/0?prefix=easel:
  $ easel login --scopes "url:GET|/api/v1/courses url:GET|/api/v1/courses/:course_id/enrollments"`,
    )
    .action(async (flags: LoginFlags) => (await import("../actions/auth.js")).login(flags, context));
}

function registerLogout(program: Command, context: AuthCommandContext): void {
  const command = program
    .command("logout")
    .description("Revoke the stored credential at Canvas and delete it from the store.");
  commonOptions(command, { oauthClient: true })
    .option("--force", "delete the stored record even if Canvas cannot be reached to revoke it")
    .addHelpText(
      "after",
      `
A credential Canvas no longer accepts counts as revoked. Without --force, a network failure
leaves the record in place so you can try again.

Examples:
  $ easel logout
  $ easel logout --key reports --force`,
    )
    .action(async (flags: LogoutFlags) => (await import("../actions/auth.js")).logout(flags, context));
}

function registerTokenRefresh(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("refresh")
    .description("Refresh the stored OAuth token now (under the store's lock, so a fleet refreshes once).");
  commonOptions(command, { oauthClient: true })
    .addHelpText(
      "after",
      `
Exits 3 when Canvas refused the refresh token for good, printing the command to run.

Examples:
  $ easel token refresh
  $ easel token refresh --key reports --store file:/var/lib/easel/tokens/`,
    )
    .action(async (flags: CommonFlags) => (await import("../actions/auth.js")).refreshToken(flags, context));
}

function registerTokenRotate(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("rotate")
    .description(
      "Regenerate the stored developer token through Canvas's Access Tokens API and store the new one.",
    );
  commonOptions(command, { oauthClient: false })
    .option(
      "--expires-at <date>",
      "new expiry (ISO 8601); Canvas requires one to regenerate an expired token",
    )
    .addHelpText(
      "after",
      `
The old token stops working as soon as Canvas answers; the new one is written under the
store's lock before the command returns.

Examples:
  $ easel token rotate
  $ easel token rotate --expires-at 2027-06-30T00:00:00Z`,
    )
    .action(async (flags: RotateFlags) => (await import("../actions/auth.js")).rotateToken(flags, context));
}

function registerTokenRevoke(token: Command, context: AuthCommandContext): void {
  const command = token
    .command("revoke")
    .description("Revoke the stored credential at Canvas, then delete the record.");
  commonOptions(command, { oauthClient: true })
    .addHelpText(
      "after",
      `
Examples:
  $ easel token revoke
  $ easel token revoke --key reports`,
    )
    .action(async (flags: CommonFlags) => (await import("../actions/auth.js")).revokeToken(flags, context));
}
