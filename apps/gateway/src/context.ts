import type { Logger } from "pino";
import type { CanvasPort } from "./canvas-port.js";
import type { ScopedLists } from "./list-cache.js";
import type { Loaders } from "./loaders.js";

/** Who a request runs as. */
export type Principal =
  | { kind: "service" /** first 8 hex chars of SHA-256(key): which key, never the key */; keyId: string }
  | { kind: "user"; userId: number };

/** What every resolver gets. Built per GraphQL request; nothing in it outlives the request. */
export interface GatewayContext {
  requestId: string;
  log: Logger;
  principal: Principal;
  /** Canvas calls with this request's credential. Resolvers go through `loaders` instead. */
  canvas: CanvasPort;
  /** Per-request DataLoaders: batch by course; they read through `lists`. */
  loaders: Loaders;
  /** The cross-request list cache, scoped to this request's credential (mutations invalidate it). */
  lists: ScopedLists;
  /** Aborts when the client goes away or the request timeout passes (see `execution`). */
  signal: AbortSignal;
  /** Aborted by the request-timeout plugin after it answered GATEWAY_TIMEOUT: stops Canvas work. */
  execution: AbortController;
  /** Aborts only when the client goes away (subscriptions outlive the request timeout). */
  requestSignal: AbortSignal;
  /** Nobody's stored answers are served again (a grade job this gateway started finished). */
  invalidateResponses: () => Promise<void>;
}
