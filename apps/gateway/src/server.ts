import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createGateway, type Gateway } from "./gateway.js";
import type { GatewayOptions } from "./options.js";

/** Where and how `startGateway` listens. */
export interface ListenOptions {
  /** 0 picks a free port. @default 4000 */
  port?: number;
  /** @default "127.0.0.1" */
  host?: string;
  /** In-flight requests get this long to finish on `close()`, then connections are cut. @default 10000 */
  shutdownTimeoutMs?: number;
}

export interface RunningGateway {
  /** e.g. `http://127.0.0.1:4000` */
  readonly url: string;
  readonly port: number;
  readonly gateway: Gateway;
  readonly server: Server;
  /**
   * Graceful shutdown: stop accepting, let in-flight requests finish (up to
   * `shutdownTimeoutMs`), close idle keep-alive connections, then close the Canvas clients.
   */
  close(): Promise<void>;
}

/**
 * Creates the gateway and serves it with `node:http`.
 *
 * @example
 * ```ts
 * const running = await startGateway({ ...gatewayOptions, port: 4000 });
 * process.once("SIGTERM", () => void running.close());
 * ```
 */
export async function startGateway(options: GatewayOptions & ListenOptions): Promise<RunningGateway> {
  const { port = 4000, host = "127.0.0.1", shutdownTimeoutMs = 10_000, ...gatewayOptions } = options;
  const gateway = createGateway(gatewayOptions as GatewayOptions);
  const server = createServer(gateway.handler);
  // Slow-loris guard; the GraphQL request timeout is enforced by the gateway itself.
  server.headersTimeout = 20_000;
  server.requestTimeout = 120_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
  } catch (error) {
    await gateway.close();
    throw error;
  }
  const address = server.address() as AddressInfo;
  const shownHost = address.family === "IPv6" ? `[${address.address}]` : address.address;
  const url = `http://${shownHost}:${address.port}`;
  gateway.logger.info({ url, mode: gateway.mode }, "gateway listening");

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections that go idle after their last response are closed as they do.
      const sweeper = setInterval(() => server.closeIdleConnections(), 50);
      server.closeIdleConnections();
      const deadline = new Promise<"timeout">((resolve) =>
        setTimeout(() => resolve("timeout"), shutdownTimeoutMs).unref(),
      );
      const outcome = await Promise.race([closed.then(() => "closed" as const), deadline]);
      clearInterval(sweeper);
      if (outcome === "timeout") {
        gateway.logger.warn(
          { shutdownTimeoutMs },
          "in-flight requests did not finish in time; closing connections",
        );
        server.closeAllConnections();
        await closed;
      }
      await gateway.close();
      gateway.logger.info("gateway stopped");
    })();
    return closing;
  };
  return { url, port: address.port, gateway, server, close };
}
