import { Writable } from "node:stream";
import { type CanvasSim, type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";
import { createGateway, createGatewayLogger, type Gateway, type ServiceModeOptions } from "../src/index.js";

/** A valid API key for service-mode tests (≥ 16 chars). */
export const API_KEY = "test-key-0123456789abcdef";

/** The query outside checks run: it must keep working, byte for byte. */
export const OUTSIDE_QUERY =
  '{ course(id: "1") { id name students(first: 100) { nodes { id name grades { currentScore finalScore } attendance { lastAttendedAt } engagement { pageViews participations } } } } }';

export async function startSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  return createCanvasSim({
    seed: 7,
    courses: 3,
    studentsPerCourse: 30,
    assignmentsPerCourse: 10,
    // Exact request counts need a quiet bucket: no 429s to retry.
    throttle: false,
    redirectUri: "http://127.0.0.1/auth/callback",
    ...options,
  });
}

/** Log lines captured in memory (JSON strings), for assertions about what gets logged. */
export class LogCapture extends Writable {
  readonly lines: string[] = [];
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.lines.push(...chunk.toString("utf8").split("\n").filter(Boolean));
    done();
  }
  get text(): string {
    return this.lines.join("\n");
  }
}

export function serviceGateway(sim: CanvasSim, overrides: Partial<ServiceModeOptions> = {}): Gateway {
  return createGateway({
    mode: "service",
    canvasBaseUrl: sim.url,
    auth: sim.developerToken,
    apiKeys: [API_KEY],
    logger: false,
    // Fail fast in tests: no backoff waits.
    canvasClient: { retry: { retries: 0, rateLimitRetries: 0, minDelayMs: 1, maxDelayMs: 5 } },
    ...overrides,
  });
}

export interface GraphQLResult {
  status: number;
  headers: Headers;
  body: {
    data?: Record<string, unknown> | null;
    errors?: Array<{ message: string; path?: Array<string | number>; extensions?: Record<string, unknown> }>;
  };
  text: string;
}

/** POSTs a GraphQL document through `gateway.fetch` (no port opened). */
export async function gql(
  gateway: Gateway,
  query: string,
  options: { variables?: Record<string, unknown>; headers?: Record<string, string> } = {},
): Promise<GraphQLResult> {
  const response = await gateway.fetch("http://gateway.test/graphql", {
    method: "POST",
    headers: {
      "content-type": "application/json",
      accept: "application/graphql-response+json, application/json",
      "x-api-key": API_KEY,
      ...options.headers,
    },
    body: JSON.stringify({ query, variables: options.variables }),
  });
  const text = await response.text();
  return { status: response.status, headers: response.headers, body: JSON.parse(text), text };
}

/** Canvas requests by route template since the last `resetStats()` (the simulator's own count). */
export function canvasRoutes(sim: CanvasSim): Record<string, number> {
  return { ...sim.stats().requests.byRoute };
}

export function pages(rows: number, perPage = 100): number {
  return Math.max(1, Math.ceil(rows / perPage));
}

export { createGatewayLogger };
