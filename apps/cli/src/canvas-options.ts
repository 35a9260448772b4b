import type { Command } from "commander";

/** Flags of every command that talks to Canvas. */
export interface CanvasFlags {
  baseUrl?: string;
  store?: string;
  key?: string;
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
    .option("--key <name>", 'record key in the store (env EASEL_TOKEN_KEY; default "default")');
}

/** Text for a command's --help about where the credential comes from. */
export const CANVAS_AUTH_HELP = `
Credentials (first match wins):
  --store URI            a stored record (developer token or OAuth with refresh) under --key
  CANVAS_ACCESS_TOKEN    a developer (personal access) token, used as is
  EASEL_TOKEN_STORE      as --store; default file:~/.config/easel/tokens/
  Stores other than memory: need EASEL_FERNET_KEY. OAuth records refresh with
  CANVAS_CLIENT_ID / CANVAS_CLIENT_SECRET; one refresh per expiry for the whole fleet.`;
