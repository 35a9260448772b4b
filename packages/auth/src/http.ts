import { invalidArgument } from "./errors.js";

/** A `fetch`-compatible function (global `fetch`, undici's, or an instrumented wrapper). */
export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

const LOOPBACK_HOSTS = new Set(["127.0.0.1", "localhost", "[::1]", "::1"]);

/** Whether `url` is plain http to this machine: the only place `http://` is ever acceptable. */
export function isLoopbackHttpUrl(url: string): boolean {
  try {
    const parsed = new URL(url);
    return parsed.protocol === "http:" && LOOPBACK_HOSTS.has(parsed.hostname);
  } catch {
    return false;
  }
}

/**
 * Validates a Canvas base URL once: absolute, http(s), no query, trailing slashes removed.
 * Plain `http://` is refused unless the insecure escape hatch is on, and even then only for a
 * loopback host (the simulator), so a real Canvas URL can never be used without TLS.
 */
export function normalizeBaseUrl(value: unknown, allowInsecureHttp: boolean): string {
  if (typeof value !== "string" || value.trim() === "") {
    throw invalidArgument(`baseUrl must be an absolute https:// URL such as https://school.instructure.com`);
  }
  let parsed: URL;
  try {
    parsed = new URL(value.trim());
  } catch {
    throw invalidArgument(`baseUrl must be an absolute URL, received "${value}"`);
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw invalidArgument(`baseUrl must use https://, received "${parsed.protocol}"`);
  }
  if (parsed.search || parsed.hash || parsed.username || parsed.password) {
    throw invalidArgument("baseUrl must not contain credentials, a query or a fragment");
  }
  if (parsed.protocol === "http:") {
    if (!allowInsecureHttp) {
      throw invalidArgument(
        `baseUrl "${parsed.origin}" is plain http; Canvas must be reached over https:// ` +
          "(dangerouslyAllowInsecureHttp exists only for a local simulator)",
      );
    }
    if (!LOOPBACK_HOSTS.has(parsed.hostname)) {
      throw invalidArgument(
        `dangerouslyAllowInsecureHttp is accepted only for a loopback simulator URL, not "${parsed.origin}"`,
      );
    }
  }
  return `${parsed.origin}${parsed.pathname}`.replace(/\/+$/, "");
}

/** Canvas's request id header, quoted in errors so an operator can give it to support. */
export function requestIdOf(response: Response | undefined): string | undefined {
  return response?.headers.get("x-request-context-id") ?? response?.headers.get("x-request-id") ?? undefined;
}

/** Statuses worth retrying: the server is busy, throttling, or briefly broken. */
export function isTransientStatus(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** Parses a JSON body without throwing: `undefined` when it is not JSON. */
export async function readJsonBody(response: Response): Promise<unknown> {
  try {
    const text = await response.text();
    return text ? (JSON.parse(text) as unknown) : undefined;
  } catch {
    return undefined;
  }
}

/** A message Canvas put in an error body (`{"errors":[{"message":...}]}` and variants). */
export function canvasErrorMessage(body: unknown): string | undefined {
  if (typeof body !== "object" || body === null) return undefined;
  const record = body as Record<string, unknown>;
  if (typeof record.message === "string") return record.message;
  if (typeof record.error_description === "string") return record.error_description;
  const errors = record.errors;
  if (Array.isArray(errors)) {
    const first = errors[0] as { message?: unknown } | undefined;
    if (typeof first?.message === "string") return first.message;
  } else if (typeof errors === "object" && errors !== null) {
    const message = (errors as { message?: unknown }).message;
    if (typeof message === "string") return message;
  } else if (typeof errors === "string") {
    return errors;
  }
  return undefined;
}

/** Network-level failure (DNS, refused, reset, timeout), as opposed to an HTTP answer. */
export function isNetworkError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "TimeoutError" || error.name === "AbortError") return true;
  return error instanceof TypeError && /fetch failed|network|socket|ECONN|terminated/i.test(error.message);
}

/** Describes an error without its cause chain (which may hold response bodies with tokens). */
export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    const causeCode = (error.cause as { code?: unknown } | undefined)?.code;
    const detail = typeof causeCode === "string" ? ` (${causeCode})` : "";
    return `${error.name}${typeof code === "string" ? ` ${code}` : ""}: ${error.message}${detail}`;
  }
  return String(error);
}

/**
 * A stand-in for an error from a library whose `cause` may carry a token response body: keeps
 * the name, code and message, drops everything else.
 */
export function sanitizedCause(error: unknown): Error {
  const safe = new Error(describeError(error));
  safe.name = error instanceof Error ? error.name : "Error";
  return safe;
}
