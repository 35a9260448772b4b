/**
 * The gateway in a process of its own (service mode, developer token, pino off), listening on a
 * free loopback port. argv[2]: { canvasBaseUrl, cache? } (`cache`: an EASEL_GATEWAY_CACHE URL,
 * shared by replicas; its Fernet key from EASEL_FERNET_KEY); the Canvas token and API key come
 * through the environment. Sends `{ url }` when listening; closes when the parent disconnects.
 */
import { startGateway } from "@easel/gateway";

const { canvasBaseUrl, cache } = JSON.parse(process.argv[2]!) as { canvasBaseUrl: string; cache?: string };
const running = await startGateway({
  mode: "service",
  canvasBaseUrl,
  auth: process.env.CANVAS_ACCESS_TOKEN!,
  apiKeys: [process.env.EASEL_BENCH_API_KEY!],
  logger: false,
  canvasClient: { pacing: false },
  cache,
  port: 0,
  host: "127.0.0.1",
  shutdownTimeoutMs: 2000,
});
// Behind a keep-alive proxy the upstream must not close an idle connection first: a request the
// proxy sends on it at that moment fails (ECONNRESET), a 502 nobody caused (Node's default is 5 s).
running.server.keepAliveTimeout = 65_000;
const stop = () => {
  void running.close().finally(() => process.exit(0));
};
process.on("disconnect", stop);
process.on("SIGTERM", stop);
process.send!({ url: running.url });
