import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from "node:http";
import { Agent as HttpsAgent, request as httpsRequest } from "node:https";
import { StoreUnavailableError } from "@easel/token-store";
import type { VaultTarget } from "./options.js";

/** A Vault answer: status plus the body parsed as JSON when it is JSON. */
export interface VaultResponse {
  status: number;
  /** Parsed JSON body; undefined when empty or not JSON (see `malformed`). */
  body: unknown;
  /** The body was non-empty but not JSON (a proxy's HTML page, a truncated reply). */
  malformed: boolean;
  requestId: string | undefined;
}

export interface SendOptions {
  token?: string;
  body?: unknown;
}

/**
 * HTTP to one Vault address over node:http(s) with a keep-alive agent: a hard timeout per request
 * (connect included), `X-Vault-Namespace` on every call, and no token in any error.
 */
export class VaultTransport {
  readonly #target: VaultTarget;
  readonly #namespace: string | undefined;
  readonly #timeoutMs: number;
  readonly #agent: HttpAgent;

  constructor(target: VaultTarget, namespace: string | undefined, timeoutMs: number) {
    this.#target = target;
    this.#namespace = namespace;
    this.#timeoutMs = timeoutMs;
    this.#agent = target.secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  }

  get address(): string {
    return this.#target.address;
  }

  async send(method: string, path: string, options: SendOptions = {}): Promise<VaultResponse> {
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    try {
      return await this.#once(method, path, options.token, payload);
    } catch (error) {
      // A keep-alive socket the server closed while idle fails before the request reached
      // Vault; Node's documented remedy is to resend once on a fresh socket.
      if (!(error instanceof ReusedSocketReset)) throw this.#unavailable(method, path, error);
    }
    try {
      return await this.#once(method, path, options.token, payload);
    } catch (error) {
      throw this.#unavailable(method, path, error instanceof ReusedSocketReset ? error.cause : error);
    }
  }

  close(): void {
    this.#agent.destroy();
  }

  #once(method: string, path: string, token: string | undefined, payload: string | undefined) {
    return new Promise<VaultResponse>((resolve, reject) => {
      const headers: Record<string, string | number> = {
        Accept: "application/json",
        "X-Vault-Request": "true",
      };
      if (token) headers["X-Vault-Token"] = token;
      if (this.#namespace) headers["X-Vault-Namespace"] = this.#namespace;
      if (payload !== undefined) {
        headers["Content-Type"] = "application/json";
        headers["Content-Length"] = Buffer.byteLength(payload);
      }
      const send = this.#target.secure ? httpsRequest : httpRequest;
      const req = send(
        { host: this.#target.hostname, port: this.#target.port, method, path, headers, agent: this.#agent },
        (res) => {
          collect(res).then(
            (text) => {
              clearTimeout(timer);
              resolve(parseResponse(res, text));
            },
            (error: unknown) => {
              clearTimeout(timer);
              reject(timedOut ?? error);
            },
          );
        },
      );
      let timedOut: RequestTimeout | undefined;
      const timer = setTimeout(() => {
        timedOut = new RequestTimeout(this.#timeoutMs);
        req.destroy(timedOut);
      }, this.#timeoutMs);
      req.on("error", (error: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        if (timedOut) reject(timedOut);
        else reject(req.reusedSocket && error.code === "ECONNRESET" ? new ReusedSocketReset(error) : error);
      });
      req.end(payload);
    });
  }

  #unavailable(method: string, path: string, error: unknown): StoreUnavailableError {
    const address = this.#target.address;
    const location = `${address}${path}`;
    if (error instanceof RequestTimeout) {
      return new StoreUnavailableError(
        `Vault at ${address} did not answer ${method} ${path} within ${error.timeoutMs} ms (VAULT_CLIENT_TIMEOUT / timeoutMs).`,
        { cause: error, location },
      );
    }
    const code = (error as NodeJS.ErrnoException | undefined)?.code;
    return new StoreUnavailableError(
      `Cannot reach Vault at ${address}${code ? ` (${code})` : ""}: is it running, and is the store URI right?`,
      { cause: error, location },
    );
  }
}

class RequestTimeout extends Error {
  constructor(readonly timeoutMs: number) {
    super(`No response within ${timeoutMs} ms`);
    this.name = this.constructor.name;
  }
}

class ReusedSocketReset extends Error {
  constructor(cause: Error) {
    super("keep-alive socket reset", { cause });
    this.name = this.constructor.name;
  }
}

function collect(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on("data", (chunk: Buffer) => chunks.push(chunk));
    res.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    res.on("error", reject);
  });
}

function parseResponse(res: IncomingMessage, text: string): VaultResponse {
  let body: unknown;
  let malformed = false;
  if (text.trim() !== "") {
    try {
      body = JSON.parse(text);
    } catch {
      malformed = true;
    }
  }
  const requestId =
    typeof body === "object" &&
    body !== null &&
    typeof (body as { request_id?: unknown }).request_id === "string"
      ? (body as { request_id: string }).request_id
      : undefined;
  return { status: res.statusCode ?? 0, body, malformed, requestId };
}
