import {
  CorruptRecordError,
  StoreAuthError,
  StoreUnavailableError,
  type TokenStoreError,
} from "@easel/token-store";
import type { VaultResponse } from "./transport.js";

/**
 * What Vault answered when a store call failed: set as the `cause` of every store error built
 * from a response, so callers can branch on `status` and quote `requestId` to the Vault operator.
 * Carries no token and no record value.
 */
export class VaultResponseError extends Error {
  readonly status: number;
  readonly method: string;
  readonly path: string;
  readonly requestId: string | undefined;
  /** Vault's `errors` strings (empty for a bare 404). */
  readonly errors: readonly string[];

  constructor(method: string, path: string, response: VaultResponse, secrets: readonly string[]) {
    const errors = errorsOf(response.body).map((e) => redact(e, secrets));
    super(`${method} ${path} -> ${response.status}${errors.length ? `: ${errors.join("; ")}` : ""}`);
    this.name = this.constructor.name;
    this.status = response.status;
    this.method = method;
    this.path = path;
    this.requestId = response.requestId;
    this.errors = errors;
  }
}

export interface FailureContext {
  address: string;
  method: string;
  path: string;
  /** Which credential was used, for the fix in a 403 message: "VAULT_TOKEN" or "the AppRole login token". */
  credential: string;
  /** The policy paths a token needs, for the 403 hint. */
  policyHint: string;
  /** Strings that must never appear in a message (the token, the secret ID). */
  secrets: readonly string[];
}

/** Vault's `errors` array, each entry with Go multierror wrapping flattened. */
export function errorsOf(body: unknown): string[] {
  const list = (body as { errors?: unknown } | undefined)?.errors;
  if (!Array.isArray(list)) return [];
  return list.map((e) =>
    String(e)
      .replace(/^\d+ errors? occurred:\s*/, "")
      .replace(/\s*\n\t\* /g, "; ")
      .replace(/^\* |^; /, "")
      .trim(),
  );
}

export function hasError(response: VaultResponse, text: string): boolean {
  return errorsOf(response.body).some((e) => e.includes(text));
}

/** Maps a failed Vault answer to the token-store error a caller can act on. */
export function failureFor(response: VaultResponse, context: FailureContext): TokenStoreError {
  const { address, method, path } = context;
  const cause = new VaultResponseError(method, path, response, context.secrets);
  const location = `${address}${path}`;
  const summary = `${method} ${path} -> ${response.status}${cause.errors.length ? ` (${cause.errors.join("; ")})` : ""}`;
  const requestId = response.requestId ? ` [request_id ${response.requestId}]` : "";

  if (response.status === 503 && hasError(response, "Vault is sealed")) {
    return new StoreUnavailableError(
      `Vault at ${address} is sealed: unseal it (vault operator unseal) and retry. ${summary}`,
      { cause, location },
    );
  }
  if (response.status === 403) {
    const invalid = hasError(response, "invalid token");
    const message = invalid
      ? `Vault at ${address} rejected ${context.credential}: the token is invalid, expired or revoked (${summary}). Fix: issue a new token.`
      : `Vault at ${address} denied ${summary}: permission denied. Fix: check ${context.credential} is valid and not expired, and that its policy grants ${context.policyHint}.`;
    return new StoreAuthError(message, { cause, location });
  }
  if (response.status === 404 && hasError(response, "no handler for route")) {
    return new StoreUnavailableError(
      `Vault at ${address} has no mount for ${path} (${summary}): check the mount in the store URI and VAULT_NAMESPACE.`,
      { cause, location },
    );
  }
  if (response.status === 404 && warningsOf(response.body).some((w) => w.includes("versioned K/V"))) {
    return new StoreUnavailableError(
      `The mount behind ${path} at ${address} is not a KV version 2 engine (${summary}).`,
      { cause, location },
    );
  }
  if (response.malformed && response.status < 300) {
    return new CorruptRecordError(
      `Vault at ${address} answered ${method} ${path} with a body that is not JSON.${requestId}`,
      { cause, location },
    );
  }
  return new StoreUnavailableError(`Vault at ${address} refused ${summary}.${requestId}`, {
    cause,
    location,
  });
}

function warningsOf(body: unknown): string[] {
  const list = (body as { warnings?: unknown } | undefined)?.warnings;
  return Array.isArray(list) ? list.map(String) : [];
}

export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) if (secret) out = out.split(secret).join("[redacted]");
  return out;
}
