/** What a handler returns; the server adds the common headers and writes it. */
export interface Reply {
  status: number;
  body: string;
  contentType: string;
  headers?: Record<string, string>;
  /** Rows returned (feeds the throttle's `costPerRow`). */
  rows?: number;
}

export const JSON_TYPE = "application/json; charset=utf-8";
export const TEXT_TYPE = "text/plain; charset=utf-8";
export const HTML_TYPE = "text/html; charset=utf-8";

export function json(status: number, value: unknown, headers?: Record<string, string>, rows?: number): Reply {
  return { status, body: JSON.stringify(value), contentType: JSON_TYPE, headers, rows };
}

/** A pre-serialised JSON body (hot paths build their arrays as strings). */
export function rawJson(
  status: number,
  body: string,
  headers?: Record<string, string>,
  rows?: number,
): Reply {
  return { status, body, contentType: JSON_TYPE, headers, rows };
}

/** Thrown by handlers to answer early (auth, permission, not found, bad request). */
export class ReplyError extends Error {
  readonly reply: Reply;
  constructor(reply: Reply) {
    super(`HTTP ${reply.status}`);
    this.name = this.constructor.name;
    this.reply = reply;
  }
}

export const WWW_AUTHENTICATE_API = 'Bearer realm="canvas-lms"';
export const WWW_AUTHENTICATE_OAUTH = "Canvas OAuth 2.0";

/** canvas-api.md §2: 404 for records that do not exist. */
export function notFound(): ReplyError {
  return new ReplyError(json(404, { errors: [{ message: "The specified resource does not exist." }] }));
}

export function badRequest(value: unknown): ReplyError {
  return new ReplyError(json(400, value));
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}
