import { type DestinationStream, type Logger, type LoggerOptions, pino } from "pino";

/**
 * Paths pino replaces with "[redacted]". The gateway never logs these on purpose; redaction is
 * the net under that rule (a header dump, an error with a request attached).
 */
export const REDACT_PATHS: readonly string[] = [
  "req.headers.authorization",
  "req.headers.cookie",
  'req.headers["x-api-key"]',
  "headers.authorization",
  "headers.cookie",
  'headers["x-api-key"]',
  'res.headers["set-cookie"]',
  "*.access_token",
  "*.refresh_token",
  "*.client_secret",
  "*.clientSecret",
  "*.accessToken",
  "*.refreshToken",
  "*.apiKey",
  "*.sessionSecret",
  "*.password",
  "*.code_verifier",
];

/**
 * The gateway's default logger: JSON lines, `service: "easel-gateway"`, secrets redacted.
 * Pass `destination` to capture the lines (tests) or ship them elsewhere.
 *
 * @example
 * ```ts
 * const logger = createGatewayLogger({ level: "debug" });
 * const gateway = createGateway({ ...options, logger });
 * ```
 */
export function createGatewayLogger(options: LoggerOptions = {}, destination?: DestinationStream): Logger {
  const settings: LoggerOptions = {
    level: "info",
    base: { service: "easel-gateway" },
    ...options,
    redact: { paths: [...REDACT_PATHS], censor: "[redacted]" },
  };
  return destination ? pino(settings, destination) : pino(settings);
}
