import { type BackoffOptions, backoffDelay, type Clock } from "@easel/clock";
import { CorruptRecordError, type TokenStoreError } from "@easel/token-store";
import type { VaultAuth } from "./auth.js";
import { failureFor, hasError, VaultResponseError } from "./failure.js";
import type { VaultTarget } from "./options.js";
import type { VaultResponse, VaultTransport } from "./transport.js";

/** A KV v2 read: the latest version's data, or none with the version a create must cas against. */
export type VersionedRead =
  | { kind: "live"; data: Record<string, unknown>; version: number }
  | { kind: "absent"; version: number };

export type CasWrite = { ok: true; version: number } | { ok: false };

const CAS_MISMATCH = "check-and-set parameter did not match the current version";
/** Attempts for answers that say the request was NOT applied (429 quota, 412 index state). */
const TRANSIENT_ATTEMPTS = 4;
/** Between those attempts: 50, 100, 200 ms before jitter. */
const TRANSIENT_BACKOFF: BackoffOptions = { baseMs: 50, maxMs: 200 };

/** KV version 2 over one mount and base path, with auth, retries and error mapping. */
export class VaultKvClient {
  readonly #transport: VaultTransport;
  readonly #auth: VaultAuth;
  readonly #target: VaultTarget;
  readonly #prefix: string;
  readonly #clock: Clock;

  constructor(transport: VaultTransport, auth: VaultAuth, target: VaultTarget, clock: Clock) {
    this.#clock = clock;
    this.#transport = transport;
    this.#auth = auth;
    this.#target = target;
    this.#prefix = target.basePath ? `${target.basePath}/` : "";
  }

  get address(): string {
    return this.#target.address;
  }

  /** `/v1/MOUNT/data/PATH/<relative>`; `relative` must already be URL-safe. */
  dataPath(relative: string): string {
    return `/v1/${this.#target.mount}/data/${this.#prefix}${relative}`;
  }

  metadataPath(relative: string): string {
    return `/v1/${this.#target.mount}/metadata/${this.#prefix}${relative}`;
  }

  async read(path: string): Promise<VersionedRead> {
    const response = await this.#call("GET", path);
    if (response.status === 200 && !response.malformed) {
      const data = objectAt(response.body, "data");
      const metadata = objectAt(data, "metadata");
      const record = objectAt(data, "data");
      if (!record || typeof metadata?.version !== "number") {
        throw this.#malformed(response, "GET", path, "data.data and data.metadata.version");
      }
      return { kind: "live", data: record, version: metadata.version };
    }
    if (response.status === 404) {
      const errors = (response.body as { errors?: unknown } | undefined)?.errors;
      if (Array.isArray(errors) && errors.length === 0) return { kind: "absent", version: 0 };
      // A deleted or destroyed latest version: 404 with its metadata; a create must cas on it.
      const version = objectAt(objectAt(response.body, "data"), "metadata")?.version;
      if (errors === undefined && typeof version === "number") return { kind: "absent", version };
    }
    throw this.#failure(response, "GET", path);
  }

  /** Writes `data` as the next version if the current version is still `cas`. */
  async writeCas(path: string, data: unknown, cas: number): Promise<CasWrite> {
    const response = await this.#call("POST", path, { options: { cas }, data });
    if (response.status === 200 && !response.malformed) {
      const version = objectAt(response.body, "data")?.version;
      if (typeof version !== "number") throw this.#malformed(response, "POST", path, "data.version");
      return { ok: true, version };
    }
    if (response.status === 400 && hasError(response, CAS_MISMATCH)) return { ok: false };
    throw this.#failure(response, "POST", path);
  }

  /** `DELETE /v1/MOUNT/metadata/...`: every version and the metadata; 204 also when absent. */
  async deleteAll(path: string): Promise<void> {
    const response = await this.#call("DELETE", path);
    if (response.status !== 204 && response.status !== 200) throw this.#failure(response, "DELETE", path);
  }

  close(): void {
    this.#transport.close();
  }

  async #call(method: string, path: string, body?: unknown): Promise<VaultResponse> {
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      const token = await this.#auth.token();
      const response = await this.#transport.send(method, path, { token, body });
      if (response.status === 403 && !reauthenticated && this.#auth.refused(token)) {
        reauthenticated = true;
        continue;
      }
      // 412/429 mean "not applied": safe to resend even a write. A 500/502 on a write is
      // ambiguous (it may have landed), so only reads retry those.
      const transient =
        response.status === 412 ||
        response.status === 429 ||
        (method === "GET" && (response.status === 500 || response.status === 502));
      if (!transient || attempt >= TRANSIENT_ATTEMPTS) return response;
      await this.#clock.sleep(backoffDelay(attempt, TRANSIENT_BACKOFF));
    }
  }

  #failure(response: VaultResponse, method: string, path: string): TokenStoreError {
    const base = `${this.#target.mount}/%s/${this.#prefix}*`;
    return failureFor(response, {
      address: this.#target.address,
      method,
      path,
      credential: this.#auth.credential,
      policyHint: `create, read and update on "${base.replace("%s", "data")}" and delete on "${base.replace("%s", "metadata")}"`,
      secrets: this.#auth.secrets,
    });
  }

  #malformed(response: VaultResponse, method: string, path: string, expected: string): CorruptRecordError {
    return new CorruptRecordError(
      `Vault at ${this.#target.address} answered ${method} ${path} with ${response.status} but without ${expected}.`,
      {
        cause: new VaultResponseError(method, path, response, this.#auth.secrets),
        location: `${this.#target.address}${path}`,
      },
    );
  }
}

function objectAt(value: unknown, key: string): Record<string, unknown> | undefined {
  if (typeof value !== "object" || value === null) return undefined;
  const inner = (value as Record<string, unknown>)[key];
  return typeof inner === "object" && inner !== null && !Array.isArray(inner)
    ? (inner as Record<string, unknown>)
    : undefined;
}
