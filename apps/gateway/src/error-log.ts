/**
 * How an answered GraphQL error reaches the log. A server fault (an unexpected error, Canvas or the
 * token store unavailable, a timeout) is one `error` line with the original error and its stack. A
 * client's mistake (an unknown course, a bad argument, a credential Canvas refuses: any 4xx) is no
 * fault of ours: it is noted on the request, whose access-log line then goes out at `warn` with the
 * mistakes and no stack, so one mistake is one warn line.
 */
import { GraphQLError } from "graphql";
import type { Logger } from "pino";
import { BAD_REQUEST, INTERNAL_SERVER_ERROR, originalOf } from "./errors.js";
import { executionScope, type RequestState } from "./request-state.js";

/** One client mistake, as the request's log line shows it. */
export interface ClientMistake {
  code: string;
  path?: string;
  message: string;
  /** What the gateway learned (e.g. the Canvas request that answered 404), when it says more. */
  detail?: string;
}

/** A request's log line lists this many mistakes at most (a roster of 403s is one line, not 100). */
const MISTAKES_SHOWN = 5;

const mistakesByRequest = new WeakMap<RequestState, { shown: ClientMistake[]; count: number }>();
const logged = new WeakSet<object>();

/** The client mistakes noted on a request, if any. */
export function clientMistakesOf(
  state: RequestState,
): { clientErrors: ClientMistake[]; clientErrorCount: number } | undefined {
  const noted = mistakesByRequest.get(state);
  return noted && { clientErrors: noted.shown, clientErrorCount: noted.count };
}

/** True when `error` was already logged here (Yoga logs every masked error again: skip those). */
export function alreadyLogged(error: unknown): boolean {
  return typeof error === "object" && error !== null && logged.has(error);
}

/**
 * Wraps Yoga's `maskError` so every error the gateway answers with is logged once, by what the
 * client will see: status 5xx or INTERNAL_SERVER_ERROR is a server fault, anything else a mistake.
 */
export function loggingMaskError(
  baseLog: Logger,
  mask: (error: unknown, message: string) => Error,
): (error: unknown, message: string) => Error {
  return (error, message) => {
    const masked = mask(error, message);
    if (typeof error !== "object" || error === null || logged.has(error)) return masked;
    logged.add(error);
    const extensions = masked instanceof GraphQLError ? masked.extensions : {};
    // maskError turns every unexpected failure into INTERNAL_SERVER_ERROR, so a GraphQL error that
    // passes without a code was raised about the request itself (Yoga's parser, validation).
    const code =
      typeof extensions.code === "string"
        ? extensions.code
        : masked instanceof GraphQLError
          ? BAD_REQUEST
          : INTERNAL_SERVER_ERROR;
    const status = (extensions.http as { status?: unknown } | undefined)?.status;
    const path = error instanceof GraphQLError ? error.path?.join(".") : undefined;
    const scope = executionScope.getStore();
    const log = scope?.log ?? baseLog;
    const original = originalOf(error);
    if (code === INTERNAL_SERVER_ERROR || (typeof status === "number" && status >= 500)) {
      log.error({ err: original, graphqlPath: path }, "graphql error");
      return masked;
    }
    const mistake: ClientMistake = { code, message: masked.message };
    if (path) mistake.path = path;
    if (original instanceof Error && original.message !== masked.message) mistake.detail = original.message;
    if (scope) noteMistake(scope, mistake);
    // Outside an operation no request line will carry it: its own line, still without a stack.
    else log.warn({ clientErrors: [mistake], clientErrorCount: 1 }, "client error");
    return masked;
  };
}

function noteMistake(state: RequestState, mistake: ClientMistake): void {
  const noted = mistakesByRequest.get(state) ?? { shown: [], count: 0 };
  mistakesByRequest.set(state, noted);
  noted.count++;
  if (noted.shown.length < MISTAKES_SHOWN) noted.shown.push(mistake);
}

/** Notes a document that does not parse or validate (these errors are answered, never masked). */
export function noteDocumentErrors(state: RequestState, errors: readonly Error[], code: string): void {
  for (const error of errors) noteMistake(state, { code, message: error.message });
}
