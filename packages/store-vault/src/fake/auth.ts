import {
  goDuration,
  newAccessor,
  newServiceToken,
  parseDurationSeconds,
  randomUUID,
  rfc3339Nano,
} from "./format.js";
import { envelope, errors, type Reply } from "./reply.js";

/** Vault's default `max_lease_ttl`: 768h (32 days). */
export const SYSTEM_MAX_TTL_SECONDS = 768 * 3600;

/** ACL capabilities as written in Vault policies. */
export type Capability = "create" | "read" | "update" | "patch" | "delete" | "list" | "sudo" | "deny";

/**
 * A policy as `path -> capabilities`, the JSON form of Vault's HCL
 * (`path "secret/data/easel/*" { capabilities = ["read"] }`). Patterns may end in `*` (prefix)
 * and use `+` for exactly one path segment.
 */
export type PolicyRules = Readonly<Record<string, readonly Capability[]>>;

interface TokenEntry {
  id: string;
  accessor: string;
  policies: string[];
  /** Namespace the token was created in ("" = root); valid there and in child namespaces. */
  namespace: string;
  creationMs: number;
  creationTtlSeconds: number;
  /** null = never expires (root token, ttl 0). */
  expireMs: number | null;
  maxExpireMs: number | null;
  renewable: boolean;
  displayName: string;
  path: string;
  meta: Record<string, string> | null;
  orphan: boolean;
  entityId: string;
  /** AppRole tokens renew against their role's token_ttl. */
  defaultRenewSeconds: number;
}

interface AppRoleEntry {
  name: string;
  mount: string;
  namespace: string;
  roleId: string;
  bindSecretId: boolean;
  secretIds: Map<string, { expireMs: number | null; usesLeft: number | null }>;
  tokenTtlSeconds: number;
  tokenMaxTtlSeconds: number;
  policies: string[];
}

export interface CreateTokenOptions {
  /** 0 = never expires. @default 3600 */
  ttlSeconds?: number;
  /** Renewals never extend past creation + this. @default 768h (Vault's system max) */
  maxTtlSeconds?: number;
  /** @default ["root"] (a token created by the root token inherits its policies) */
  policies?: string[];
  /** @default true */
  renewable?: boolean;
  /** Namespace the token belongs to. @default "" (root namespace) */
  namespace?: string;
}

export interface CreateAppRoleOptions {
  /** @default "easel-<n>" */
  roleName?: string;
  /** @default a random UUID */
  roleId?: string;
  /** @default a random UUID */
  secretId?: string;
  /** TTL of login tokens, also the default renewal increment. @default 3600 */
  tokenTtlSeconds?: number;
  /** Login tokens never live past login + this. @default 768h */
  tokenMaxTtlSeconds?: number;
  /**
   * Token policies of login tokens (Vault adds `default`). The fake's default is `["root"]` for
   * convenience; a real role without `token_policies` gets only `default`.
   * @default ["root"]
   */
  policies?: string[];
  /** @default true */
  bindSecretId?: boolean;
  /** The secret ID stops working after this long. @default never */
  secretIdTtlSeconds?: number;
  /** The secret ID stops working after this many logins. @default unlimited */
  secretIdNumUses?: number;
  /** Auth mount path. @default "approle" */
  mount?: string;
  /** @default "" (root namespace) */
  namespace?: string;
}

/** The `default` policy Vault attaches to every token: enough to look itself up and renew itself. */
const DEFAULT_POLICY: PolicyRules = {
  "auth/token/lookup-self": ["read"],
  "auth/token/renew-self": ["update"],
  "auth/token/revoke-self": ["update"],
};

export type TokenCheck = { ok: true; token: TokenEntry } | { ok: false; reason: "missing" | "invalid" };

/** Tokens, their TTLs, AppRole roles and ACL policies, all on the fake's clock. */
export class AuthState {
  readonly #now: () => number;
  readonly #tokens = new Map<string, TokenEntry>();
  readonly #roles: AppRoleEntry[] = [];
  readonly #policies = new Map<string, PolicyRules>([["default", DEFAULT_POLICY]]);

  constructor(now: () => number) {
    this.#now = now;
  }

  createRootToken(id?: string): string {
    return this.#issue({
      id,
      ttlSeconds: 0,
      maxTtlSeconds: 0,
      policies: ["root"],
      renewable: false,
      namespace: "",
      displayName: "root",
      path: "auth/token/root",
      meta: null,
      orphan: true,
    }).id;
  }

  createToken(options: CreateTokenOptions = {}): string {
    const policies = options.policies ?? ["root"];
    return this.#issue({
      ttlSeconds: options.ttlSeconds ?? 3600,
      maxTtlSeconds: options.maxTtlSeconds ?? SYSTEM_MAX_TTL_SECONDS,
      policies: policies.includes("root") ? policies : withDefault(policies),
      renewable: options.renewable ?? true,
      namespace: normalizeNamespace(options.namespace ?? ""),
      displayName: "token",
      path: "auth/token/create",
      meta: null,
      orphan: false,
    }).id;
  }

  createAppRole(options: CreateAppRoleOptions = {}): { roleId: string; secretId: string } {
    const secretId = options.secretId ?? randomUUID();
    const role: AppRoleEntry = {
      name: options.roleName ?? `easel-${this.#roles.length + 1}`,
      mount: options.mount ?? "approle",
      namespace: normalizeNamespace(options.namespace ?? ""),
      roleId: options.roleId ?? randomUUID(),
      bindSecretId: options.bindSecretId ?? true,
      secretIds: new Map([
        [
          secretId,
          {
            expireMs: options.secretIdTtlSeconds ? this.#now() + options.secretIdTtlSeconds * 1000 : null,
            usesLeft: options.secretIdNumUses ?? null,
          },
        ],
      ]),
      tokenTtlSeconds: options.tokenTtlSeconds ?? 3600,
      tokenMaxTtlSeconds: options.tokenMaxTtlSeconds ?? SYSTEM_MAX_TTL_SECONDS,
      policies: options.policies ?? ["root"],
    };
    this.#roles.push(role);
    return { roleId: role.roleId, secretId };
  }

  hasAuthMount(mount: string, namespace: string): boolean {
    return this.#roles.some((r) => r.mount === mount && r.namespace === namespace) || mount === "approle";
  }

  setPolicy(name: string, rules: PolicyRules): void {
    this.#policies.set(name, rules);
  }

  revoke(id: string): void {
    this.#tokens.delete(id);
  }

  /** `sys/leases/revoke-prefix/<prefix>`: every token issued under a path, e.g. `auth/approle/login`. */
  revokePrefix(prefix: string, namespace: string): void {
    for (const [id, token] of this.#tokens) {
      if (token.namespace === namespace && token.path.startsWith(prefix)) this.#tokens.delete(id);
    }
  }

  check(id: string | undefined, namespace: string): TokenCheck {
    if (!id) return { ok: false, reason: "missing" };
    const token = this.#tokens.get(id);
    if (!token) return { ok: false, reason: "invalid" };
    if (token.expireMs !== null && token.expireMs <= this.#now()) {
      // An expired token is revoked: it stays invalid even if the clock could go back.
      this.#tokens.delete(id);
      return { ok: false, reason: "invalid" };
    }
    const inScope =
      token.namespace === "" || namespace === token.namespace || namespace.startsWith(`${token.namespace}/`);
    return inScope ? { ok: true, token } : { ok: false, reason: "invalid" };
  }

  /** Whether the token's policies grant `capability` on `path` (namespace-relative, no `/v1/`). */
  allows(token: TokenEntry, path: string, capability: string): boolean {
    if (token.policies.includes("root")) return true;
    let granted = false;
    for (const name of token.policies) {
      const rules = this.#policies.get(name);
      if (!rules) continue;
      const capabilities = bestMatch(rules, path);
      if (!capabilities) continue;
      if (capabilities.includes("deny")) return false;
      if (capabilities.includes(capability as Capability)) granted = true;
    }
    return granted;
  }

  login(mount: string, namespace: string, body: Record<string, unknown>): Reply {
    const roleId = typeof body.role_id === "string" ? body.role_id.trim() : "";
    const secretId = typeof body.secret_id === "string" ? body.secret_id.trim() : "";
    if (!roleId) return errors(400, "missing role_id");
    const role = this.#roles.find(
      (r) => r.roleId === roleId && r.mount === mount && r.namespace === namespace,
    );
    if (!role) return errors(400, "invalid role or secret ID");
    if (role.bindSecretId) {
      if (!secretId) return errors(400, "missing secret_id");
      const entry = role.secretIds.get(secretId);
      if (!entry || (entry.expireMs !== null && entry.expireMs <= this.#now())) {
        return errors(400, "invalid role or secret ID");
      }
      if (entry.usesLeft !== null) {
        entry.usesLeft--;
        if (entry.usesLeft <= 0) role.secretIds.delete(secretId);
      }
    }
    const token = this.#issue({
      ttlSeconds: role.tokenTtlSeconds,
      maxTtlSeconds: role.tokenMaxTtlSeconds,
      policies: withDefault(role.policies),
      renewable: true,
      namespace,
      displayName: mount,
      path: `auth/${mount}/login`,
      meta: { role_name: role.name },
      orphan: true,
    });
    return envelope(null, 200, { auth: authBlock(token, role.policies, token.creationTtlSeconds) });
  }

  lookupSelf(token: TokenEntry): Reply {
    const now = this.#now();
    return envelope({
      accessor: token.accessor,
      creation_time: Math.floor(token.creationMs / 1000),
      creation_ttl: token.creationTtlSeconds,
      display_name: token.displayName,
      entity_id: token.entityId,
      expire_time: token.expireMs === null ? null : rfc3339Nano(token.expireMs),
      explicit_max_ttl: 0,
      id: token.id,
      issue_time: rfc3339Nano(token.creationMs),
      meta: token.meta,
      num_uses: 0,
      orphan: token.orphan,
      path: token.path,
      policies: token.policies,
      renewable: token.renewable,
      ttl: token.expireMs === null ? 0 : Math.max(0, Math.floor((token.expireMs - now) / 1000)),
      type: "service",
    });
  }

  renewSelf(token: TokenEntry, body: Record<string, unknown>): Reply {
    if (!token.renewable || token.expireMs === null) return errors(400, "lease is not renewable");
    let requested = token.defaultRenewSeconds;
    if (body.increment !== undefined && body.increment !== "" && body.increment !== 0) {
      const parsed = parseDurationSeconds(body.increment);
      if (parsed === undefined) return errors(400, `error converting input for field "increment"`);
      requested = parsed;
    }
    const now = this.#now();
    const remainingToMax =
      token.maxExpireMs === null ? requested : Math.floor((token.maxExpireMs - now) / 1000);
    const warnings: string[] = [];
    let granted = requested;
    if (requested > remainingToMax) {
      granted = remainingToMax;
      warnings.push(
        `TTL of "${goDuration(requested)}" exceeded the effective max_ttl of "${goDuration(remainingToMax)}"; TTL value is capped accordingly`,
      );
    }
    token.expireMs = now + granted * 1000;
    const tokenPolicies = token.policies.filter((p) => p !== "default");
    return envelope(null, 200, {
      auth: authBlock(token, tokenPolicies, granted),
      ...(warnings.length > 0 ? { warnings } : {}),
    });
  }

  #issue(spec: {
    id?: string;
    ttlSeconds: number;
    maxTtlSeconds: number;
    policies: string[];
    renewable: boolean;
    namespace: string;
    displayName: string;
    path: string;
    meta: Record<string, string> | null;
    orphan: boolean;
  }): TokenEntry {
    const now = this.#now();
    const ttl = spec.maxTtlSeconds > 0 ? Math.min(spec.ttlSeconds, spec.maxTtlSeconds) : spec.ttlSeconds;
    const token: TokenEntry = {
      id: spec.id ?? newServiceToken(),
      accessor: newAccessor(),
      policies: spec.policies,
      namespace: spec.namespace,
      creationMs: now,
      creationTtlSeconds: ttl,
      expireMs: ttl > 0 ? now + ttl * 1000 : null,
      maxExpireMs: ttl > 0 && spec.maxTtlSeconds > 0 ? now + spec.maxTtlSeconds * 1000 : null,
      renewable: spec.renewable && ttl > 0,
      displayName: spec.displayName,
      path: spec.path,
      meta: spec.meta,
      orphan: spec.orphan,
      entityId: spec.path.startsWith("auth/token") ? "" : randomUUID(),
      defaultRenewSeconds: ttl,
    };
    this.#tokens.set(token.id, token);
    return token;
  }
}

function authBlock(token: TokenEntry, tokenPolicies: string[], leaseSeconds: number) {
  return {
    client_token: token.id,
    accessor: token.accessor,
    policies: token.policies,
    token_policies: tokenPolicies.includes("root") ? tokenPolicies : withDefault(tokenPolicies),
    metadata: token.meta,
    lease_duration: leaseSeconds,
    renewable: token.renewable,
    entity_id: token.entityId,
    token_type: "service",
    orphan: token.orphan,
    mfa_requirement: null,
    num_uses: 0,
  };
}

function withDefault(policies: string[]): string[] {
  return policies.includes("default") ? [...policies] : ["default", ...policies].sort();
}

export function normalizeNamespace(namespace: string): string {
  return namespace.replace(/^\/+|\/+$/g, "");
}

/**
 * The capabilities of the most specific matching rule: an exact path beats any glob, and a longer
 * glob beats a shorter one. (Vault's full priority order has more tie-breakers; see the README.)
 */
function bestMatch(rules: PolicyRules, path: string): readonly Capability[] | undefined {
  let best: { score: number; capabilities: readonly Capability[] } | undefined;
  for (const [pattern, capabilities] of Object.entries(rules)) {
    const score = matchScore(pattern, path);
    if (score !== undefined && (!best || score > best.score)) best = { score, capabilities };
  }
  return best?.capabilities;
}

function matchScore(pattern: string, path: string): number | undefined {
  const glob = pattern.endsWith("*");
  const body = glob ? pattern.slice(0, -1) : pattern;
  const regex = new RegExp(
    `^${body
      .split("+")
      .map((part) => part.replace(/[.*?^${}()|[\]\\]/g, "\\$&"))
      .join("[^/]+")}${glob ? "" : "$"}`,
  );
  if (!regex.test(path)) return undefined;
  return glob ? body.length : Number.MAX_SAFE_INTEGER;
}
