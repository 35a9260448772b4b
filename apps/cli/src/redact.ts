type Env = Readonly<Record<string, string | undefined>>;

/** Variables whose values are secrets; comma-separated lists (key rings, API keys) are split. */
const SECRET_VARIABLES = [
  "CANVAS_ACCESS_TOKEN",
  "CANVAS_CLIENT_SECRET",
  "EASEL_FERNET_KEY",
  "EASEL_GATEWAY_KEYS",
  "EASEL_SESSION_SECRET",
  "TOKEN_ENCRYPTION_KEY",
  "VAULT_TOKEN",
  "VAULT_ROLE_ID",
  "VAULT_SECRET_ID",
] as const;

// Shorter values would blank out ordinary words; real secrets are far longer.
const MIN_SECRET_LENGTH = 8;

/**
 * Blanks out what must never reach a terminal or a log: the values of the secret variables,
 * passwords in URLs, bearer credentials and Canvas-shaped access tokens (`<id>~<64 chars>`).
 * Last line of defence for messages Easel did not word itself (a library's error, a stack).
 */
export function redactSecrets(text: string, env: Env = process.env): string {
  let out = text;
  for (const name of SECRET_VARIABLES) {
    for (const value of (env[name] ?? "").split(",")) {
      const secret = value.trim();
      if (secret.length >= MIN_SECRET_LENGTH) out = out.replaceAll(secret, "***");
    }
  }
  return out
    .replace(/\b([a-z][a-z0-9+.-]*:\/\/[^\s/:@]*):[^\s/@]+@/gi, "$1:***@")
    .replace(/\b(Bearer\s+)[^\s"',;]+/gi, "$1***")
    .replace(/\b\d+~[A-Za-z0-9]{20,}/g, "***");
}
