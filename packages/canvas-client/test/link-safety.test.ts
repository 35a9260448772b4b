import { afterEach, describe, expect, it } from "vitest";
import { CanvasClient, CanvasResponseError, MALFORMED_RESPONSE, parseLinkHeader } from "../src/index.js";
import { sendJson, startServer, type TestServer } from "./helpers/http-server.js";

const TOKEN = "dev-token-for-link-tests-7f3a";
const open: Array<TestServer | CanvasClient> = [];
afterEach(async () => {
  for (const thing of open.splice(0)) await thing.close();
});

function rows(from: number, count: number) {
  return Array.from({ length: count }, (_, i) => ({ id: from + i }));
}

async function collectError(
  client: CanvasClient,
  path: string,
): Promise<{ items: unknown[]; error: unknown }> {
  const items: unknown[] = [];
  try {
    for await (const item of client.paginate(path)) items.push(item);
  } catch (error) {
    return { items, error };
  }
  return { items, error: undefined };
}

describe("Link rel=next safety", () => {
  it("parses Canvas's comma-joined Link header, with or without last", () => {
    const header =
      '<https://x/api/v1/c?page=2&per_page=10>; rel="current",<https://x/api/v1/c?page=3&per_page=10>; rel="next",' +
      '<https://x/api/v1/c?page=1&per_page=10>; rel="prev",<https://x/api/v1/c?page=1&per_page=10>; rel="first"';
    expect(parseLinkHeader(header)).toEqual({
      current: "https://x/api/v1/c?page=2&per_page=10",
      next: "https://x/api/v1/c?page=3&per_page=10",
      prev: "https://x/api/v1/c?page=1&per_page=10",
      first: "https://x/api/v1/c?page=1&per_page=10",
    });
    expect(parseLinkHeader(undefined)).toEqual({});
  });

  it("refuses a next link to another origin and never contacts it", async () => {
    const foreign = await startServer((_req, res) => sendJson(res, 200, rows(100, 2)));
    open.push(foreign);
    // Same machine, other origin: "localhost" instead of "127.0.0.1", another port.
    const foreignNext = `${foreign.url.replace("127.0.0.1", "localhost")}/api/v1/items?page=2&per_page=2`;
    const canvas = await startServer((_req, res) =>
      sendJson(res, 200, rows(1, 2), { link: `<${foreignNext}>; rel="next"` }),
    );
    open.push(canvas);
    const client = new CanvasClient({ baseUrl: canvas.url, auth: TOKEN, perPage: 2 });
    open.push(client);

    const { items, error } = await collectError(client, "/api/v1/items");
    expect(items).toEqual(rows(1, 2));
    expect(error).toBeInstanceOf(CanvasResponseError);
    expect((error as CanvasResponseError).code).toBe(MALFORMED_RESPONSE);
    expect((error as Error).message).toMatch(/another origin/);
    expect(foreign.requests).toHaveLength(0);
    expect(JSON.stringify(error)).not.toContain(TOKEN);
    expect((error as Error).message).not.toContain(TOKEN);
  });

  it("treats a full page without any Link header as suspicious, not as the end", async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, rows(1, 3)));
    open.push(server);
    const client = new CanvasClient({ baseUrl: server.url, auth: TOKEN, perPage: 3 });
    open.push(client);
    const { error } = await collectError(client, "/api/v1/items");
    expect(error).toBeInstanceOf(CanvasResponseError);
    expect((error as Error).message).toMatch(/without a Link header/);
  });

  it("accepts a short last page without a Link header, and a last page whose Link has no next", async () => {
    let calls = 0;
    const server = await startServer((req, res) => {
      calls++;
      if (req.url.startsWith("/api/v1/short")) return sendJson(res, 200, rows(1, 2));
      if (req.url.includes("page=2")) {
        return sendJson(res, 200, rows(4, 3), {
          link: `<http://${req.headers.host}${req.url}>; rel="current"`,
        });
      }
      return sendJson(res, 200, rows(1, 3), {
        link: `<http://${req.headers.host}/api/v1/full?page=2&per_page=3>; rel="next"`,
      });
    });
    open.push(server);
    const client = new CanvasClient({ baseUrl: server.url, auth: TOKEN, perPage: 3 });
    open.push(client);
    expect(await client.collect("/api/v1/short")).toEqual(rows(1, 2));
    expect(await client.collect("/api/v1/full")).toEqual(rows(1, 6));
    expect(calls).toBe(3);
  });

  it("rejects a page that is not a JSON array, and a next link pointing at the same page", async () => {
    const server = await startServer((req, res) => {
      if (req.url.startsWith("/api/v1/object")) return sendJson(res, 200, { items: [] });
      const self = `http://${req.headers.host}${req.url}`;
      return sendJson(res, 200, rows(1, 1), { link: `<${self}>; rel="next"` });
    });
    open.push(server);
    const client = new CanvasClient({ baseUrl: server.url, auth: TOKEN });
    open.push(client);
    const notArray = await collectError(client, "/api/v1/object");
    expect((notArray.error as CanvasResponseError).code).toBe(MALFORMED_RESPONSE);
    const loop = await collectError(client, "/api/v1/loop");
    expect((loop.error as CanvasResponseError).code).toBe(MALFORMED_RESPONSE);
    expect(loop.items).toHaveLength(1);
  });
});
