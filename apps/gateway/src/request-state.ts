import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";
import type { Logger } from "pino";
import type { Principal } from "./context.js";

/** What the plugins learn about one HTTP request, shared through the Request object. */
export interface RequestState {
  requestId: string;
  startedAt: number;
  log: Logger;
  principal: Principal | undefined;
  /** Canvas requests made while executing this request's GraphQL (counted by the client logger). */
  canvasRequests: number;
}

const states = new WeakMap<Request, RequestState>();
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/**
 * The state of `request`, created on first use. A well-formed incoming `x-request-id` is kept
 * (so a proxy's id follows the request through our logs); anything else gets a fresh UUID.
 */
export function requestState(request: Request, baseLog: Logger): RequestState {
  let state = states.get(request);
  if (!state) {
    const incoming = request.headers.get("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    state = {
      requestId,
      startedAt: performance.now(),
      log: baseLog.child({ requestId }),
      principal: undefined,
      canvasRequests: 0,
    };
    states.set(request, state);
  }
  return state;
}

/**
 * The request whose GraphQL is executing: lets the Canvas client's log lines (which know
 * nothing of requests) be counted and tagged per request, even with one shared client.
 */
export const executionScope = new AsyncLocalStorage<RequestState>();
