/** The subset of a pino logger the client uses: `(fields, message)`. */
export interface CanvasLogger {
  debug(obj: Record<string, unknown>, msg?: string): void;
  info(obj: Record<string, unknown>, msg?: string): void;
  warn(obj: Record<string, unknown>, msg?: string): void;
  error(obj: Record<string, unknown>, msg?: string): void;
  /**
   * Whether a level would be written (pino's `logger.isLevelEnabled(level)`, which follows later
   * changes of `logger.level`). When it says no to `debug`, the client skips building its
   * per-request debug fields; without it every level counts as enabled.
   */
  isLevelEnabled?(level: string): boolean;
}

const noop = (): void => {};
export const silentLogger: CanvasLogger = {
  debug: noop,
  info: noop,
  warn: noop,
  error: noop,
  isLevelEnabled: () => false,
};

/**
 * Whether `logger` writes debug lines now. Asked per request, not once: pino's level can change
 * while the client runs.
 */
export function debugEnabled(logger: CanvasLogger): boolean {
  return typeof logger.isLevelEnabled !== "function" || logger.isLevelEnabled("debug") !== false;
}

/**
 * The path for logs: numeric ids, SIS-style ids (`sis_user_id:x`) and anything after `tokens/`
 * (which may be a token hint, i.e. the first characters of a token) become `:id`.
 * `/api/v1/courses/12/enrollments` → `/api/v1/courses/:id/enrollments`.
 */
export function pathTemplate(pathname: string): string {
  const parts = pathname.split("/");
  return parts
    .map((part, i) => {
      if (part === "") return part;
      if (/^\d+$/.test(part) || part.includes(":") || part.includes("~") || part.includes("%")) return ":id";
      if (i > 0 && (parts[i - 1] === "tokens" || parts[i - 1] === "user_generated_tokens")) return ":id";
      return part;
    })
    .join("/");
}

/**
 * The path kept on errors: the real ids (useful to debug "which course?") but never a token
 * hint, and never the query string.
 */
export function redactedPath(pathname: string): string {
  const parts = pathname.split("/");
  return parts.map((part, i) => (i > 0 && parts[i - 1] === "tokens" && part !== "" ? ":id" : part)).join("/");
}
