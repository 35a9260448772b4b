/**
 * A small round-robin HTTP load balancer (node:http, keep-alive to each upstream), standing in
 * for whatever runs in front of the replicas: each request goes to the next upstream in turn, no
 * stickiness. argv[2]: { upstreams: string[] }. Sends `{ url }` when listening.
 */
import { Agent, createServer, request } from "node:http";

const { upstreams } = JSON.parse(process.argv[2]!) as { upstreams: string[] };
const targets = upstreams.map((u) => new URL(u));
const agent = new Agent({ keepAlive: true, maxSockets: 64 });
let next = 0;

const server = createServer((incoming, outgoing) => {
  const target = targets[next++ % targets.length]!;
  const forward = request(
    {
      host: target.hostname,
      port: target.port,
      method: incoming.method,
      path: incoming.url,
      headers: incoming.headers,
      agent,
    },
    (answer) => {
      outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(outgoing);
    },
  );
  forward.on("error", () => {
    if (!outgoing.headersSent) outgoing.writeHead(502);
    outgoing.end();
  });
  incoming.pipe(forward);
});
server.keepAliveTimeout = 30_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address() as { port: number };
  process.send!({ url: `http://127.0.0.1:${address.port}` });
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  agent.destroy();
  process.exit(0);
};
process.on("disconnect", stop);
process.on("SIGTERM", stop);
