import { createHash } from "node:crypto";
import {
  type AuthLogger,
  type AuthStrategy,
  TokenManager,
  type TokenManagerEvent,
  type TokenProvider,
} from "@easel/auth";
import {
  CanvasClient,
  type CanvasClientOptions,
  type CanvasLogger,
  canvasProbeUrl,
} from "@easel/canvas-client";
import type { TokenStore } from "@easel/token-store";
import { type CanvasPort, canvasPortFor } from "./canvas-port.js";
import type { Principal } from "./context.js";
import type { CanvasClientTuning } from "./options.js";
import type { ReadinessChecks } from "./plugins/use-health.js";
import { userRecordKey } from "./plugins/use-user-session.js";

/** A service credential the gateway manages itself (so its refreshes show in the metrics). */
export interface ManagedCredential {
  strategy: AuthStrategy;
  store: TokenStore;
  /** @default "default" */
  key?: string;
}

/** Canvas access for a request's principal, and what `/readyz` checks about it. */
export interface Credentials {
  portFor(principal: Principal): CanvasPort;
  /**
   * Whose Canvas view a principal's requests see: the list cache's key prefix. Principals with
   * the same scope share cached lists; different Canvas users never do.
   */
  cacheScope(principal: Principal): string;
  /** A user logged in again: drop their client so the next request starts from the new record. */
  forget?(userId: number): void;
  /** User mode: the store keys of the people this process serves now (for the expiry gauge). */
  activeKeys?(): string[];
  readiness: ReadinessChecks;
  close(): Promise<void>;
}

interface ClientSettings {
  baseUrl: string;
  tuning: CanvasClientTuning;
  logger: CanvasLogger;
  readinessTimeoutMs: number;
  /** TokenManager's `bufferSeconds`. */
  refreshBufferSeconds: number;
  onTokenEvent: (event: TokenManagerEvent) => void;
  /** TokenManager's logger: its one warning when the store goes down under a valid token. */
  authLogger: AuthLogger;
}

function clientOptions(settings: ClientSettings, auth: TokenProvider | string): CanvasClientOptions {
  return { ...settings.tuning, baseUrl: settings.baseUrl, auth, logger: settings.logger };
}

/** Service mode: one client over the one credential, shared by all requests (loaders are not). */
export function serviceCredentials(
  auth: TokenProvider | string | ManagedCredential,
  store: TokenStore | undefined,
  storeKey: string,
  settings: ClientSettings,
): Credentials {
  let provider: TokenProvider | string;
  let checkedStore = store;
  let checkedKey = storeKey;
  if (typeof auth === "object" && "strategy" in auth) {
    checkedStore = auth.store;
    checkedKey = auth.key ?? "default";
    provider = new TokenManager(auth.strategy, auth.store, {
      key: checkedKey,
      bufferSeconds: settings.refreshBufferSeconds,
      onEvent: settings.onTokenEvent,
      logger: settings.authLogger,
    });
  } else provider = auth;
  // Every API key uses the one credential: one scope. A fingerprint names it (never the token).
  const source =
    typeof auth === "string" ? `token:${auth}` : "strategy" in auth ? `store:${checkedKey}` : "provider";
  const scope = `service:${createHash("sha256").update(source).digest("hex").slice(0, 16)}`;
  const client = new CanvasClient(clientOptions(settings, provider));
  const port = canvasPortFor(client);
  const readiness: ReadinessChecks = {
    canvas: async () => {
      await port.self(AbortSignal.timeout(settings.readinessTimeoutMs));
      return true;
    },
  };
  if (checkedStore) {
    const s = checkedStore;
    readiness.store = async () => {
      await s.get(checkedKey);
      return true;
    };
  }
  return {
    portFor: () => port,
    cacheScope: () => scope,
    readiness,
    close: () => client.close(),
  };
}

/** A Canvas user's list cache scope in user mode. */
export function userCacheScope(userId: number): string {
  return `user:${userId}`;
}

/**
 * User mode: a client per Canvas user, built on that user's TokenManager (key `user:<id>`),
 * never shared between users. Kept for reuse by the same user (keep-alive connections, the
 * client's view of that token's rate-limit bucket), at most `maxUsers`, least recently used out.
 */
export function userCredentials(
  strategy: AuthStrategy,
  store: TokenStore,
  settings: ClientSettings,
  maxUsers = 500,
): Credentials {
  const clients = new Map<number, { client: CanvasClient; port: CanvasPort }>();
  const retiring = new Map<CanvasClient, NodeJS.Timeout>();
  const retire = (client: CanvasClient) => {
    // Requests of the evicted user may still be running on it: close once they had time to finish.
    const timer = setTimeout(() => {
      retiring.delete(client);
      void client.close();
    }, 60_000);
    timer.unref();
    retiring.set(client, timer);
  };
  const portFor = (principal: Principal): CanvasPort => {
    if (principal.kind !== "user") throw new TypeError("user mode needs a user principal");
    const existing = clients.get(principal.userId);
    if (existing) {
      clients.delete(principal.userId);
      clients.set(principal.userId, existing);
      return existing.port;
    }
    if (clients.size >= maxUsers) {
      const [oldestId, oldest] = clients.entries().next().value as [number, { client: CanvasClient }];
      clients.delete(oldestId);
      retire(oldest.client);
    }
    const manager = new TokenManager(strategy, store, {
      key: userRecordKey(principal.userId),
      bufferSeconds: settings.refreshBufferSeconds,
      onEvent: settings.onTokenEvent,
      logger: settings.authLogger,
    });
    const client = new CanvasClient(clientOptions(settings, manager));
    const entry = { client, port: canvasPortFor(client) };
    clients.set(principal.userId, entry);
    return entry.port;
  };
  return {
    portFor,
    cacheScope: (principal) => {
      if (principal.kind !== "user") throw new TypeError("user mode needs a user principal");
      return userCacheScope(principal.userId);
    },
    activeKeys: () => [...clients.keys()].map(userRecordKey),
    forget: (userId) => {
      const entry = clients.get(userId);
      if (!entry) return;
      clients.delete(userId);
      retire(entry.client);
    },
    readiness: {
      store: async () => {
        await store.get(userRecordKey(0));
        return true;
      },
      // No credential of our own: Canvas is reachable when it answers at all (401 expected).
      canvas: async () => {
        const response = await fetch(canvasProbeUrl(settings.baseUrl), {
          signal: AbortSignal.timeout(settings.readinessTimeoutMs),
        });
        await response.body?.cancel();
        return response.status < 500;
      },
    },
    close: async () => {
      const all = [...clients.values()].map(({ client }) => client.close());
      for (const [client, timer] of retiring) {
        clearTimeout(timer);
        all.push(client.close());
      }
      clients.clear();
      retiring.clear();
      await Promise.all(all);
    },
  };
}
