import { REAUTH_REQUIRED, REFRESH_FAILED } from "@easel/auth";
import {
  CANVAS_API_ERROR,
  CANVAS_BAD_REQUEST,
  CANVAS_FORBIDDEN,
  CANVAS_NOT_FOUND,
  RATE_LIMITED as CANVAS_RATE_LIMITED,
  UPSTREAM_UNAVAILABLE as CANVAS_UPSTREAM_UNAVAILABLE,
  MALFORMED_RESPONSE,
  NETWORK,
  PROGRESS_FAILED,
  TIMEOUT,
} from "@easel/canvas-client";
import { LOCK_TIMEOUT, STORE_UNAVAILABLE } from "@easel/token-store";
import { GraphQLError } from "graphql";

/** `extensions.code` values clients branch on. Documented in the README. */
export const FORBIDDEN = "FORBIDDEN";
/**
 * "Log in again / import a new token": the same string as `@easel/auth`'s and
 * `@easel/canvas-client`'s code, so one name means re-authorization from Canvas to GraphQL.
 */
export { REAUTH_REQUIRED };
export const RATE_LIMITED = "RATE_LIMITED";
export const UPSTREAM_UNAVAILABLE = "UPSTREAM_UNAVAILABLE";
export const NOT_FOUND = "NOT_FOUND";
export const BAD_USER_INPUT = "BAD_USER_INPUT";
export const UNAUTHENTICATED = "UNAUTHENTICATED";
export const GATEWAY_TIMEOUT = "GATEWAY_TIMEOUT";
export const INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR";
export const QUERY_LIMIT_EXCEEDED = "QUERY_LIMIT_EXCEEDED";
/** User mode: a cookie-authenticated request a form could have sent (no JSON, no CSRF header). */
export const CSRF_HEADER_REQUIRED = "CSRF_HEADER_REQUIRED";
/** User mode with a shared cache: Redis, which holds the sessions of every replica, is unreachable (503). */
export const SESSION_STORE_UNAVAILABLE = "SESSION_STORE_UNAVAILABLE";
/** graphql-yoga's code for a malformed HTTP request (invalid JSON, wrong parameter types, batches). */
export const BAD_REQUEST = "BAD_REQUEST";

export type GatewayErrorCode =
  | typeof FORBIDDEN
  | typeof REAUTH_REQUIRED
  | typeof RATE_LIMITED
  | typeof UPSTREAM_UNAVAILABLE
  | typeof NOT_FOUND
  | typeof BAD_USER_INPUT
  | typeof UNAUTHENTICATED
  | typeof GATEWAY_TIMEOUT
  | typeof INTERNAL_SERVER_ERROR
  | typeof QUERY_LIMIT_EXCEEDED
  | typeof CSRF_HEADER_REQUIRED
  | typeof SESSION_STORE_UNAVAILABLE;

interface PublicError {
  code: GatewayErrorCode;
  status: number;
  message: string;
}

/**
 * Canvas client, auth and token store codes → what a GraphQL client sees (the README's error
 * table). Messages are fixed strings: the original error (Canvas path, request id, messages)
 * goes to the log only. `REAUTH_REQUIRED` keeps its name: auth's `ReauthorizationRequiredError`
 * and canvas-client's `CanvasUnauthorizedError` both carry it.
 */
const FROM_UPSTREAM: Readonly<Record<string, PublicError>> = {
  [CANVAS_FORBIDDEN]: {
    code: FORBIDDEN,
    status: 403,
    message: "Canvas does not allow the current credential to read this.",
  },
  [CANVAS_NOT_FOUND]: {
    code: NOT_FOUND,
    status: 404,
    message: "Canvas has no such resource (or the feature is off).",
  },
  [CANVAS_BAD_REQUEST]: {
    code: BAD_USER_INPUT,
    status: 400,
    message: "Canvas rejected the request's parameters.",
  },
  [REAUTH_REQUIRED]: {
    code: REAUTH_REQUIRED,
    status: 401,
    message: "The Canvas authorization is no longer valid: log in again.",
  },
  [CANVAS_RATE_LIMITED]: {
    code: RATE_LIMITED,
    status: 429,
    message: "Canvas is rate limiting requests: retry later.",
  },
  [CANVAS_UPSTREAM_UNAVAILABLE]: {
    code: UPSTREAM_UNAVAILABLE,
    status: 502,
    message: "Canvas is unavailable.",
  },
  [NETWORK]: { code: UPSTREAM_UNAVAILABLE, status: 502, message: "Canvas is unavailable." },
  [TIMEOUT]: { code: UPSTREAM_UNAVAILABLE, status: 504, message: "Canvas did not answer in time." },
  [MALFORMED_RESPONSE]: {
    code: UPSTREAM_UNAVAILABLE,
    status: 502,
    message: "Canvas sent an unusable answer.",
  },
  [CANVAS_API_ERROR]: { code: UPSTREAM_UNAVAILABLE, status: 502, message: "Canvas answered with an error." },
  [PROGRESS_FAILED]: { code: UPSTREAM_UNAVAILABLE, status: 502, message: "The Canvas job failed." },
  [STORE_UNAVAILABLE]: {
    code: UPSTREAM_UNAVAILABLE,
    status: 503,
    message: "The token store is unavailable.",
  },
  // Only once the token has run out: while it is valid, auth hands it out and retries the refresh.
  [REFRESH_FAILED]: {
    code: UPSTREAM_UNAVAILABLE,
    status: 503,
    message: "Canvas's token endpoint is unavailable: retry later.",
  },
  [LOCK_TIMEOUT]: {
    code: UPSTREAM_UNAVAILABLE,
    status: 503,
    message: "The token store is busy: retry later.",
  },
};

/** An error the gateway raises on purpose; its message is safe to show. */
export class GatewayError extends GraphQLError {
  readonly code: GatewayErrorCode;
  constructor(code: GatewayErrorCode, message: string, options: { status?: number; cause?: unknown } = {}) {
    super(message, {
      originalError: options.cause instanceof Error ? options.cause : undefined,
      extensions: { code, http: { status: options.status ?? 400 } },
    });
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** A bad argument in a GraphQL request (ids that are not Canvas ids, empty lists...). */
export function badInput(message: string): GatewayError {
  return new GatewayError(BAD_USER_INPUT, message, { status: 400 });
}

function codeOf(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const code = (value as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}

/** The innermost non-GraphQL error: what a resolver or loader actually threw. */
export function originalOf(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 10 && current instanceof GraphQLError && current.originalError; depth++) {
    current = current.originalError;
  }
  return current;
}

/** The public shape (code, status, fixed message) of an upstream failure, if it is one. */
export function publicErrorFor(error: unknown): PublicError | undefined {
  const code = codeOf(originalOf(error));
  return code === undefined ? undefined : FROM_UPSTREAM[code];
}

/**
 * graphql-js's messages for a variable or argument value that does not fit its type
 * (`coerceInputValue`, `getVariableValues`, `getArgumentValues`): the client's input, raised
 * without a code.
 */
const COERCION_MESSAGE =
  /^(?:Variable "\$[^"]+" (?:got invalid value|of required type|of non-null type|expected value)|Argument "[^"]+" (?:has invalid value|of required type|of non-null type))/;

/**
 * A code-less GraphQL error that describes bad client input: Pothos's argument checks, or
 * coercion (whose outer error names the variable, the inner one the type's complaint).
 */
function isBadInput(outer: GraphQLError, original: GraphQLError): boolean {
  if (outer.extensions?.code !== undefined || original.extensions?.code !== undefined) return false;
  // `first: -1`, a cursor that is not one: Pothos's own GraphQLError subclass, by name (realm-safe).
  return original.name === "PothosValidationError" || COERCION_MESSAGE.test(outer.message);
}

/**
 * A request error raised by Yoga itself, with what the client may see. The invalid-JSON error
 * carries the JSON parser's message as `extensions.originalError` (it echoes the body); and a
 * malformed request stays a 400 for both media types (GraphQL over HTTP: a request that is not
 * well-formed gets a 4xx), where Yoga would let `application/json` turn it into a 200 once that
 * extension is gone.
 */
function withoutInternals(error: GraphQLError): GraphQLError {
  const { originalError: echo, ...extensions } = error.extensions as Record<string, unknown>;
  if (extensions.code !== BAD_REQUEST && echo === undefined) return error;
  const http = extensions.http as { status?: number; spec?: boolean } | undefined;
  if (extensions.code === BAD_REQUEST)
    extensions.http = { ...http, status: http?.status ?? 400, spec: false };
  // Changed in place: a new error would be logged by Yoga as an unexpected failure.
  Object.defineProperty(error, "extensions", { value: extensions, enumerable: true });
  return error;
}

/**
 * Yoga's `maskError`: Canvas and auth failures become their public code and a fixed message;
 * errors the gateway raised on purpose (and GraphQL validation errors) pass; bad arguments and
 * variables get BAD_USER_INPUT; anything else is "Unexpected error." with code
 * INTERNAL_SERVER_ERROR. The original is logged by Yoga, never sent.
 */
export function maskError(error: unknown, genericMessage: string): Error {
  const original = originalOf(error);
  const located = error instanceof GraphQLError ? error : undefined;
  const upstream = FROM_UPSTREAM[codeOf(original) ?? ""];
  if (upstream && !(original instanceof GraphQLError)) {
    return new GraphQLError(upstream.message, {
      nodes: located?.nodes,
      path: located?.path,
      extensions: { code: upstream.code, http: { status: upstream.status } },
    });
  }
  if (original instanceof GraphQLError) {
    const shown = located ?? original;
    if (isBadInput(shown, original)) {
      // The same error, given its code: a new one would be logged by Yoga as an unexpected failure.
      Object.defineProperty(shown, "extensions", {
        value: { ...shown.extensions, code: BAD_USER_INPUT, http: { status: 400 } },
        enumerable: true,
      });
      return shown;
    }
    return withoutInternals(shown);
  }
  return new GraphQLError(genericMessage, {
    nodes: located?.nodes,
    path: located?.path,
    extensions: { code: INTERNAL_SERVER_ERROR, http: { status: 500 } },
  });
}

/** A JSON GraphQL error response for requests refused before any GraphQL ran (401, 403...). */
export function errorResponse(
  status: number,
  code: GatewayErrorCode,
  message: string,
  headers: Record<string, string> = {},
): Response {
  return new Response(JSON.stringify({ errors: [{ message, extensions: { code } }] }), {
    status,
    headers: { "content-type": "application/json; charset=utf-8", ...headers },
  });
}
