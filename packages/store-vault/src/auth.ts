import { CorruptRecordError, StoreAuthError, type TokenStoreError } from "@easel/token-store";
import { type FailureContext, failureFor, VaultResponseError } from "./failure.js";
import type { VaultTransport } from "./transport.js";

/** How the store gets the token it sends as `X-Vault-Token`. */
export interface VaultAuth {
  /** Names the credential in error messages. */
  readonly credential: string;
  /** Values that must never appear in an error message. */
  readonly secrets: readonly string[];
  /** A token to send now; may log in or renew first. */
  token(): Promise<string>;
  /**
   * Vault answered 403 to `token`. Returns true when a fresh login may help (the caller then
   * retries once); false when the credential is fixed (a static `VAULT_TOKEN`).
   */
  refused(token: string): boolean;
  /** Best-effort revocation of tokens this strategy created. */
  close(): Promise<void>;
}

/** `VAULT_TOKEN`, used as is: whoever issued it renews it (Vault Agent, a CI job). */
export class StaticTokenAuth implements VaultAuth {
  readonly credential = "the token in VAULT_TOKEN";
  readonly #token: string;

  constructor(token: string) {
    this.#token = token;
  }

  get secrets(): readonly string[] {
    return [this.#token];
  }

  async token(): Promise<string> {
    return this.#token;
  }

  refused(): boolean {
    return false;
  }

  async close(): Promise<void> {}
}

interface Lease {
  token: string;
  obtainedAt: number;
  leaseMs: number;
  renewable: boolean;
  /** Vault granted less than asked (near max TTL): log in again instead of renewing. */
  capped: boolean;
}

/** Fraction of a lease after which the token is renewed, leaving a third of it as margin. */
const RENEW_AT = 2 / 3;

/**
 * AppRole login (`POST /v1/auth/<mount>/login`), renewal (`renew-self`) once two thirds of the
 * lease have passed, and a fresh login when renewal is refused, capped by max TTL, or the token
 * expired or was revoked. Concurrent callers share one login or renewal.
 */
export class AppRoleAuth implements VaultAuth {
  readonly credential = "the AppRole token (VAULT_ROLE_ID/VAULT_SECRET_ID)";
  readonly #transport: VaultTransport;
  readonly #roleId: string;
  readonly #secretId: string | undefined;
  readonly #mount: string;
  readonly #now: () => number;
  #lease: Lease | undefined;
  #pending: Promise<string> | undefined;
  readonly #issued = new Set<string>();

  constructor(
    transport: VaultTransport,
    config: { roleId: string; secretId: string | undefined; mount: string },
    now: () => number,
  ) {
    this.#transport = transport;
    this.#roleId = config.roleId;
    this.#secretId = config.secretId;
    this.#mount = config.mount;
    this.#now = now;
  }

  get secrets(): readonly string[] {
    return [this.#secretId ?? "", ...this.#issued];
  }

  token(): Promise<string> {
    if (this.#pending) return this.#pending;
    const lease = this.#lease;
    if (lease && !(lease.leaseMs > 0 && this.#now() >= lease.obtainedAt + lease.leaseMs * RENEW_AT)) {
      return Promise.resolve(lease.token);
    }
    this.#pending = (lease ? this.#renewOrLogin(lease) : this.#login()).finally(() => {
      this.#pending = undefined;
    });
    return this.#pending;
  }

  refused(token: string): boolean {
    if (this.#lease?.token === token) this.#lease = undefined;
    return true;
  }

  async close(): Promise<void> {
    const token = this.#lease?.token;
    this.#lease = undefined;
    if (!token) return;
    // A CLI run logs in each time; revoking keeps the role's tokens from piling up until their TTL.
    await this.#transport.send("POST", "/v1/auth/token/revoke-self", { token }).catch(() => undefined);
  }

  async #renewOrLogin(lease: Lease): Promise<string> {
    const expired = this.#now() >= lease.obtainedAt + lease.leaseMs;
    if (expired || !lease.renewable || lease.capped) return this.#login();
    const path = "/v1/auth/token/renew-self";
    const response = await this.#transport.send("POST", path, { token: lease.token, body: {} });
    // Refused (revoked, expired early, not renewable): a fresh login is the documented remedy.
    if (response.status === 400 || response.status === 403) return this.#login();
    if (response.status !== 200) throw this.#failure(response, "POST", path);
    const renewed = this.#leaseFrom(response.body, "POST", path, response);
    const warnings = (response.body as { warnings?: unknown }).warnings;
    renewed.capped = renewed.leaseMs < lease.leaseMs || (Array.isArray(warnings) && warnings.length > 0);
    this.#lease = renewed;
    return renewed.token;
  }

  async #login(): Promise<string> {
    const path = `/v1/auth/${this.#mount}/login`;
    const body: Record<string, string> = { role_id: this.#roleId };
    if (this.#secretId) body.secret_id = this.#secretId;
    const response = await this.#transport.send("POST", path, { body });
    if (response.status === 400 || response.status === 403) {
      const cause = new VaultResponseError("POST", path, response, this.secrets);
      throw new StoreAuthError(
        `Vault at ${this.#transport.address} refused the AppRole login at auth/${this.#mount} (${cause.errors.join("; ") || response.status}). Fix: check VAULT_ROLE_ID and VAULT_SECRET_ID (a secret ID can expire or run out of uses), VAULT_AUTH_MOUNT and VAULT_NAMESPACE.`,
        { cause, location: `${this.#transport.address}${path}` },
      );
    }
    if (response.status !== 200) throw this.#failure(response, "POST", path);
    this.#lease = this.#leaseFrom(response.body, "POST", path, response);
    this.#issued.add(this.#lease.token);
    // Only recent tokens can show up in a response; the set must not grow for the process's life.
    if (this.#issued.size > 8) this.#issued.delete(this.#issued.values().next().value as string);
    return this.#lease.token;
  }

  #leaseFrom(body: unknown, method: string, path: string, response: Parameters<typeof failureFor>[0]): Lease {
    const auth = (body as { auth?: unknown } | undefined)?.auth as Record<string, unknown> | null | undefined;
    if (
      !auth ||
      typeof auth.client_token !== "string" ||
      auth.client_token === "" ||
      typeof auth.lease_duration !== "number"
    ) {
      throw new CorruptRecordError(
        `Vault at ${this.#transport.address} answered ${method} ${path} without auth.client_token/lease_duration.`,
        {
          cause: new VaultResponseError(method, path, response, this.secrets),
          location: `${this.#transport.address}${path}`,
        },
      );
    }
    return {
      token: auth.client_token,
      obtainedAt: this.#now(),
      leaseMs: auth.lease_duration * 1000,
      renewable: auth.renewable === true,
      capped: false,
    };
  }

  #failure(response: Parameters<typeof failureFor>[0], method: string, path: string): TokenStoreError {
    const context: FailureContext = {
      address: this.#transport.address,
      method,
      path,
      credential: this.credential,
      policyHint: "the default policy (auth/token/renew-self)",
      secrets: this.secrets,
    };
    return failureFor(response, context);
  }
}
