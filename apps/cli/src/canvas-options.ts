import { type Command, Option } from "commander";
import { days, integerIn } from "./option-parsers.js";

/** Flags of every command that talks to Canvas. */
export interface CanvasFlags {
  baseUrl?: string;
  store?: string;
  key?: string;
  /** Warn when a personal token expires within this many days (env EASEL_EXPIRY_WARNING_DAYS). */
  expiryWarningDays?: number;
  /** Refresh OAuth tokens this many seconds before expiry (env EASEL_TOKEN_REFRESH_BUFFER). */
  refreshBuffer?: number;
}

/** `--refresh-buffer`, as `easel serve` has it; without it the token manager's default applies. */
export function refreshBufferOption(): Option {
  return new Option(
    "--refresh-buffer <seconds>",
    "refresh OAuth tokens when less than this many seconds remain (at most a fifth of the token's lifetime; env EASEL_TOKEN_REFRESH_BUFFER; default 300)",
  )
    .env("EASEL_TOKEN_REFRESH_BUFFER")
    .argParser(integerIn(0, 86_400));
}

/** Adds `--base-url`, `--store`, `--key`, `--expiry-warning-days` and `--refresh-buffer`. */
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
    )
    .addOption(refreshBufferOption());
}

/** Text for a command's --help about where the credential comes from. */
export const CANVAS_AUTH_HELP = `
Credentials (first match wins):
  --store URI            a stored record (developer token or OAuth with refresh) under --key
  CANVAS_ACCESS_TOKEN    a developer (personal access) token, used as is
  EASEL_TOKEN_STORE      as --store; default file:~/.config/easel/tokens/
  Stores other than memory: need EASEL_FERNET_KEY. OAuth records refresh with
  CANVAS_CLIENT_ID / CANVAS_CLIENT_SECRET; one refresh per expiry for the whole fleet.`;
