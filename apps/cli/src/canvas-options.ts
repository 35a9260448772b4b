import { type Command, Option } from "commander";
import { days } from "./option-parsers.js";

/** Flags of every command that talks to Canvas. */
export interface CanvasFlags {
  baseUrl?: string;
  store?: string;
  key?: string;
  /** Warn when a personal token expires within this many days (env EASEL_EXPIRY_WARNING_DAYS). */
  expiryWarningDays?: number;
}

/** Adds `--base-url`, `--store` and `--key`. */
export function withCanvasOptions(command: Command): Command {
  return command
    .option("--base-url <url>", "Canvas root URL (env CANVAS_BASE_URL), e.g. https://school.instructure.com")
    .option(
      "--store <uri>",
      "token store URI (env EASEL_TOKEN_STORE; default file:~/.config/easel/tokens/); ignored when " +
        "CANVAS_ACCESS_TOKEN is set and --store is not",
    )
    .option("--key <name>", 'record key in the store (env EASEL_TOKEN_KEY; default "default")')
    .addOption(
      new Option(
        "--expiry-warning-days <days>",
        "warn once at start when the stored personal token expires within this many days (env EASEL_EXPIRY_WARNING_DAYS; default 14)",
      ).argParser(days),
    );
}

/** Text for a command's --help about where the credential comes from. */
export const CANVAS_AUTH_HELP = `
Credentials (first match wins):
  --store URI            a stored record (developer token or OAuth with refresh) under --key
  CANVAS_ACCESS_TOKEN    a developer (personal access) token, used as is
  EASEL_TOKEN_STORE      as --store; default file:~/.config/easel/tokens/
  Stores other than memory: need EASEL_FERNET_KEY. OAuth records refresh with
  CANVAS_CLIENT_ID / CANVAS_CLIENT_SECRET; one refresh per expiry for the whole fleet.`;
