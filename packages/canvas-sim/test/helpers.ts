import { type CanvasSim, type CanvasSimOptions, createCanvasSim } from "../src/index.js";

/** Starts a simulator; remember to close it (use `withSim` in a describe's hooks). */
export function startSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  return createCanvasSim({ courses: 3, studentsPerCourse: 25, assignmentsPerCourse: 6, ...options });
}

export interface CallOptions {
  token?: string | null;
  method?: string;
  form?: Record<string, string | string[]>;
  json?: unknown;
  headers?: Record<string, string>;
}

export interface CallResult<T = unknown> {
  status: number;
  headers: Headers;
  body: T;
  text: string;
}

/** One HTTP request to the simulator; parses JSON bodies. */
export async function call<T = unknown>(
  sim: CanvasSim,
  path: string,
  options: CallOptions = {},
): Promise<CallResult<T>> {
  const headers: Record<string, string> = { ...options.headers };
  const token = options.token === undefined ? sim.developerToken : options.token;
  if (token !== null) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.form) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(options.form)) {
      for (const item of Array.isArray(value) ? value : [value]) params.append(key, item);
    }
    body = params.toString();
    headers["Content-Type"] = "application/x-www-form-urlencoded";
  } else if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["Content-Type"] = "application/json";
  }
  const url = path.startsWith("http") ? path : `${sim.url}${path}`;
  const response = await fetch(url, {
    method: options.method ?? (body !== undefined ? "POST" : "GET"),
    headers,
    body,
    redirect: "manual",
  });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get("content-type") ?? "").includes("json") && text !== "") parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed as T, text };
}

/** Parses a Link header into rel → URL. */
export function parseLinks(header: string | null): Record<string, string> {
  const links: Record<string, string> = {};
  if (!header) return links;
  for (const part of header.split(",<")) {
    const match = /<?([^>]+)>; rel="([a-z]+)"/.exec(part);
    if (match) links[match[2]!] = match[1]!;
  }
  return links;
}

/** Follows rel="next" from `path`, returning every row and the number of pages. */
export async function walk<T = Record<string, unknown>>(
  sim: CanvasSim,
  path: string,
  token?: string,
): Promise<{ rows: T[]; pages: number; links: string[] }> {
  const rows: T[] = [];
  const links: string[] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next) {
    const result: CallResult<T[]> = await call<T[]>(sim, next, { token });
    if (result.status !== 200)
      throw new Error(`HTTP ${result.status} on ${next}: ${result.text.slice(0, 200)}`);
    rows.push(...result.body);
    pages++;
    const header = result.headers.get("link");
    links.push(header ?? "");
    next = parseLinks(header).next;
  }
  return { rows, pages, links };
}

/** Runs the authorization_code flow with `?auto=1` and returns the code. */
export async function authorize(
  sim: CanvasSim,
  query: Record<string, string> = {},
): Promise<{ code: string | null; location: URL }> {
  const params = new URLSearchParams({
    client_id: sim.clientId,
    response_type: "code",
    redirect_uri: sim.redirectUri,
    state: "xyz",
    auto: "1",
    ...query,
  });
  const response = await fetch(`${sim.url}/login/oauth2/auth?${params}`, { redirect: "manual" });
  await response.arrayBuffer();
  if (response.status !== 302) throw new Error(`expected a redirect, got ${response.status}`);
  const location = new URL(response.headers.get("location")!);
  return { code: location.searchParams.get("code"), location };
}

/** The refresh_token grant as a confidential client sends it (form body, secret in params). */
export function refreshGrant(sim: CanvasSim, refreshToken: string): Promise<CallResult> {
  return call(sim, "/login/oauth2/token", {
    token: null,
    form: {
      grant_type: "refresh_token",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      refresh_token: refreshToken,
    },
  });
}
