/**
 * The logger auth writes to: the `(fields, message)` calls of pino, so a pino logger fits as is.
 * Fields never hold a token, refresh token, authorization code, PKCE verifier or secret.
 */
export interface AuthLogger {
  debug(fields: Record<string, unknown>, message: string): void;
  info(fields: Record<string, unknown>, message: string): void;
  warn(fields: Record<string, unknown>, message: string): void;
  error(fields: Record<string, unknown>, message: string): void;
}

const noop = (): void => {};

/** The default: says nothing. */
export const silentLogger: AuthLogger = { debug: noop, info: noop, warn: noop, error: noop };
