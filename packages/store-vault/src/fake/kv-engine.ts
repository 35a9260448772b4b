import { goDuration, isPlainObject, parseDurationSeconds, parseGoBool, rfc3339Nano } from "./format.js";
import { envelope, errors, noContent, notFound, type Reply } from "./reply.js";

// Error texts copied from hashicorp/vault-plugin-secrets-kv (see docs/vault-api.md §1-5).
export const CAS_MISMATCH = "check-and-set parameter did not match the current version";
export const CAS_REQUIRED = "check-and-set parameter required for this call";
const CAS_UNPARSABLE = "error parsing check-and-set parameter";
const NO_DATA = "no data provided";
const NO_VERSIONS = "No version number provided";
const DEFAULT_MAX_VERSIONS = 10;

interface VersionState {
  createdTime: string;
  /** Epoch ms from which the version counts as deleted; null when never deleted. */
  deletionMs: number | null;
  /** Formatted once, so every read shows the same timestamp. */
  deletionTime: string;
  destroyed: boolean;
  data: Record<string, unknown> | null;
}

interface KeyState {
  createdTime: string;
  updatedTime: string;
  currentVersion: number;
  oldestVersion: number;
  maxVersions: number;
  casRequired: boolean;
  deleteVersionAfterSeconds: number;
  customMetadata: Record<string, string> | null;
  versions: Map<number, VersionState>;
}

export interface KvRequest {
  method: string;
  /** Path below the mount, decoded, e.g. `data/easel/tokens/default`. */
  subpath: string;
  query: URLSearchParams;
  body: Record<string, unknown>;
  contentType: string;
}

/** Which ACL capability a request needs, decided the way Vault's router does (existence check). */
export function kvCapability(
  engine: KvEngine,
  request: Pick<KvRequest, "method" | "subpath" | "query">,
): string {
  const { method, subpath, query } = request;
  if (method === "GET" || method === "HEAD") {
    return subpath.startsWith("metadata") && parseGoBool(query.get("list") ?? "") ? "list" : "read";
  }
  if (method === "DELETE") return "delete";
  if (method === "PATCH") return "patch";
  const slash = subpath.indexOf("/");
  const op = slash < 0 ? subpath : subpath.slice(0, slash);
  if ((op === "data" || op === "metadata") && !engine.hasKey(subpath.slice(slash + 1))) return "create";
  return "update";
}

/**
 * One KV version 2 mount: versions, soft delete, destroy, metadata, check-and-set, mount config.
 * Pure state plus Vault's replies; HTTP, auth and sealing live in the server.
 */
export class KvEngine {
  readonly #now: () => number;
  readonly #keys = new Map<string, KeyState>();
  readonly #config = { maxVersions: 0, casRequired: false, deleteVersionAfterSeconds: 0 };
  /** Writes refused with the cas-mismatch error, for tests that must prove contention happened. */
  casMismatches = 0;

  constructor(now: () => number) {
    this.#now = now;
  }

  hasKey(path: string): boolean {
    return this.#keys.has(path);
  }

  /** The latest live version's data, for test inspection. */
  peek(path: string): { data: Record<string, unknown>; version: number } | undefined {
    const key = this.#keys.get(path);
    const version = key?.versions.get(key.currentVersion);
    if (!key || !version || !this.#isLive(version)) return undefined;
    return { data: structuredClone(version.data ?? {}), version: key.currentVersion };
  }

  handle(request: KvRequest): Reply {
    const { method, subpath } = request;
    if (subpath === "config") {
      if (method === "GET") return this.#readConfig();
      if (method === "POST" || method === "PUT") return this.#writeConfig(request.body);
      return unsupported;
    }
    const match = /^(data|metadata|delete|undelete|destroy)\/(.*)$/s.exec(subpath);
    const op = match?.[1];
    const path = match?.[2] ?? "";
    if (op === "metadata" && (method === "GET" || method === "HEAD")) {
      const list = request.query.get("list");
      if (list !== null) {
        const flag = parseGoBool(list);
        if (flag === undefined) return errors(400, `error parsing list parameter: invalid syntax`);
        if (flag) return this.#list(path);
      }
    }
    // Data-like routes need a path that does not end in "/" (KV's matchAllNoTrailingSlashRegex);
    // everything else falls through to the catch-all "Invalid path" handler, as in KV backend.go.
    if (!op || path === "" || path.endsWith("/")) return invalidPath(method);
    switch (`${op} ${method}`) {
      case "data GET":
        return this.#read(path, request.query);
      case "data POST":
      case "data PUT":
        return this.#write(path, request.body);
      case "data PATCH":
        return this.#patch(path, request);
      case "data DELETE":
        return this.#softDeleteLatest(path);
      case "metadata GET":
        return this.#readMetadata(path);
      case "metadata POST":
      case "metadata PUT":
        return this.#writeMetadata(path, request.body);
      case "metadata DELETE":
        this.#keys.delete(path);
        return noContent;
      case "delete POST":
      case "delete PUT":
        return this.#setDeleted(path, request.body, true);
      case "undelete POST":
      case "undelete PUT":
        return this.#setDeleted(path, request.body, false);
      case "destroy POST":
      case "destroy PUT":
        return this.#destroy(path, request.body);
      default:
        return unsupported;
    }
  }

  #isLive(version: VersionState): boolean {
    if (version.destroyed) return false;
    // A future deletion_time (delete_version_after) is not deleted yet (vault PR #22842).
    return version.deletionMs === null || version.deletionMs > this.#now();
  }

  #versionMetadata(key: KeyState, number: number, version: VersionState) {
    return {
      created_time: version.createdTime,
      custom_metadata: key.customMetadata,
      deletion_time: version.deletionTime,
      destroyed: version.destroyed,
      version: number,
    };
  }

  #read(path: string, query: URLSearchParams): Reply {
    const key = this.#keys.get(path);
    if (!key) return notFound;
    const raw = query.get("version");
    const requested = raw === null || raw === "" ? 0 : Number(raw);
    if (!Number.isInteger(requested) || requested < 0) {
      return errors(400, `error converting input ${raw} for field "version"`);
    }
    const number = requested || key.currentVersion;
    const version = key.versions.get(number);
    if (!version) return notFound;
    const metadata = this.#versionMetadata(key, number, version);
    // A deleted or destroyed version answers 404 *with* its metadata and no `errors` key.
    if (!this.#isLive(version)) return envelope({ data: null, metadata }, 404);
    return envelope({ data: version.data, metadata });
  }

  /** Checks `options.cas` the way KV's validateCheckAndSetOption does. */
  #checkCas(key: KeyState | undefined, body: Record<string, unknown>): Reply | undefined {
    const options = isPlainObject(body.options) ? body.options : {};
    const required = this.#config.casRequired || (key?.casRequired ?? false);
    if (options.cas === undefined || options.cas === null) {
      return required ? errors(400, CAS_REQUIRED) : undefined;
    }
    const cas =
      typeof options.cas === "string" && /^\d+$/.test(options.cas) ? Number(options.cas) : options.cas;
    if (typeof cas !== "number" || !Number.isInteger(cas)) return errors(400, CAS_UNPARSABLE);
    if (cas !== (key?.currentVersion ?? 0)) {
      this.casMismatches++;
      return errors(400, CAS_MISMATCH);
    }
    return undefined;
  }

  #write(path: string, body: Record<string, unknown>): Reply {
    if (body.data === undefined || body.data === null) return errors(400, NO_DATA);
    if (!isPlainObject(body.data)) return errors(400, `error converting input for field "data": not a map`);
    const existing = this.#keys.get(path);
    const refused = this.#checkCas(existing, body);
    if (refused) return refused;
    return this.#addVersion(path, existing, body.data);
  }

  #addVersion(path: string, existing: KeyState | undefined, data: Record<string, unknown>): Reply {
    const nowMs = this.#now();
    const now = rfc3339Nano(nowMs);
    const key = existing ?? this.#newKey(path, now);
    const number = key.currentVersion + 1;
    const afterSeconds = key.deleteVersionAfterSeconds || this.#config.deleteVersionAfterSeconds;
    const deletionMs = afterSeconds > 0 ? nowMs + afterSeconds * 1000 : null;
    const version: VersionState = {
      createdTime: now,
      deletionMs,
      deletionTime: deletionMs === null ? "" : rfc3339Nano(deletionMs),
      destroyed: false,
      data: structuredClone(data),
    };
    key.versions.set(number, version);
    key.currentVersion = number;
    key.updatedTime = now;
    this.#prune(key);
    return envelope(this.#versionMetadata(key, number, version));
  }

  #newKey(path: string, now: string): KeyState {
    const key: KeyState = {
      createdTime: now,
      updatedTime: now,
      currentVersion: 0,
      oldestVersion: 0,
      maxVersions: 0,
      casRequired: false,
      deleteVersionAfterSeconds: 0,
      customMetadata: null,
      versions: new Map(),
    };
    this.#keys.set(path, key);
    return key;
  }

  /** Effective max_versions is the LARGER of the key's and the mount's (10 when both are 0). */
  #prune(key: KeyState): void {
    const max = Math.max(key.maxVersions, this.#config.maxVersions) || DEFAULT_MAX_VERSIONS;
    const numbers = [...key.versions.keys()].sort((a, b) => a - b);
    while (numbers.length > max) key.versions.delete(numbers.shift()!);
    if (numbers.length < key.currentVersion) key.oldestVersion = numbers[0] ?? key.currentVersion;
  }

  #patch(path: string, request: KvRequest): Reply {
    const contentType = request.contentType.split(";")[0]!.trim().toLowerCase();
    if (contentType !== "application/merge-patch+json") {
      return errors(
        415,
        `PATCH requires Content-Type of application/merge-patch+json, provided ${contentType}`,
      );
    }
    const key = this.#keys.get(path);
    const latest = key?.versions.get(key.currentVersion);
    if (!key || !latest || !this.#isLive(latest)) return { kind: "empty", status: 404 };
    const { body } = request;
    if (body.data === undefined || body.data === null) return errors(400, NO_DATA);
    if (!isPlainObject(body.data)) return errors(400, `error converting input for field "data": not a map`);
    const refused = this.#checkCas(key, body);
    if (refused) return refused;
    return this.#addVersion(path, key, mergePatch(latest.data ?? {}, body.data));
  }

  #softDeleteLatest(path: string): Reply {
    const key = this.#keys.get(path);
    const latest = key?.versions.get(key.currentVersion);
    if (latest && this.#isLive(latest)) markDeleted(latest, this.#now());
    return noContent;
  }

  #setDeleted(path: string, body: Record<string, unknown>, deleted: boolean): Reply {
    const numbers = versionList(body.versions);
    if (!numbers) return errors(400, NO_VERSIONS);
    const key = this.#keys.get(path);
    for (const number of numbers) {
      const version = key?.versions.get(number);
      if (!version || version.destroyed) continue;
      if (deleted && this.#isLive(version)) markDeleted(version, this.#now());
      if (!deleted) markDeleted(version, null);
    }
    return noContent;
  }

  #destroy(path: string, body: Record<string, unknown>): Reply {
    const numbers = versionList(body.versions);
    if (!numbers) return errors(400, NO_VERSIONS);
    const key = this.#keys.get(path);
    for (const number of numbers) {
      const version = key?.versions.get(number);
      if (!version) continue;
      version.destroyed = true;
      version.data = null;
    }
    return noContent;
  }

  #readMetadata(path: string): Reply {
    const key = this.#keys.get(path);
    if (!key) return notFound;
    const versions: Record<string, unknown> = {};
    for (const [number, version] of [...key.versions].sort(([a], [b]) => a - b)) {
      const { created_time, deletion_time, destroyed } = this.#versionMetadata(key, number, version);
      versions[String(number)] = { created_time, deletion_time, destroyed };
    }
    return envelope({
      cas_required: key.casRequired,
      created_time: key.createdTime,
      current_version: key.currentVersion,
      custom_metadata: key.customMetadata,
      delete_version_after: goDuration(key.deleteVersionAfterSeconds),
      max_versions: key.maxVersions,
      oldest_version: key.oldestVersion,
      updated_time: key.updatedTime,
      versions,
    });
  }

  #writeMetadata(path: string, body: Record<string, unknown>): Reply {
    const update: Partial<KeyState> = {};
    if (body.max_versions !== undefined) {
      if (!Number.isInteger(body.max_versions) || (body.max_versions as number) < 0) {
        return errors(400, `error converting input for field "max_versions"`);
      }
      update.maxVersions = body.max_versions as number;
    }
    if (body.cas_required !== undefined) {
      if (typeof body.cas_required !== "boolean")
        return errors(400, `error converting input for field "cas_required"`);
      update.casRequired = body.cas_required;
    }
    if (body.delete_version_after !== undefined) {
      const seconds = parseDurationSeconds(body.delete_version_after);
      if (seconds === undefined)
        return errors(400, `error converting input for field "delete_version_after"`);
      update.deleteVersionAfterSeconds = seconds;
    }
    if (body.custom_metadata !== undefined) {
      const problem = customMetadataProblem(body.custom_metadata);
      if (problem) return errors(400, `custom_metadata validation failed: ${problem}`);
      update.customMetadata = { ...(body.custom_metadata as Record<string, string>) };
    }
    const now = rfc3339Nano(this.#now());
    const key = this.#keys.get(path) ?? this.#newKey(path, now);
    Object.assign(key, update);
    key.updatedTime = now;
    if (update.casRequired === false && this.#config.casRequired) {
      return envelope(null, 200, {
        warnings: [
          `"cas_required" set to false, but is mandated by backend config. This value will be ignored.`,
        ],
      });
    }
    return noContent;
  }

  #list(prefix: string): Reply {
    // Vault appends "/" to the path of a list operation.
    const base = prefix === "" || prefix.endsWith("/") ? prefix : `${prefix}/`;
    const keys = new Set<string>();
    for (const path of this.#keys.keys()) {
      if (!path.startsWith(base)) continue;
      const rest = path.slice(base.length);
      const slash = rest.indexOf("/");
      keys.add(slash < 0 ? rest : rest.slice(0, slash + 1));
    }
    if (keys.size === 0) return notFound;
    return envelope({ keys: [...keys].sort() });
  }

  #readConfig(): Reply {
    return envelope({
      cas_required: this.#config.casRequired,
      delete_version_after: goDuration(this.#config.deleteVersionAfterSeconds),
      max_versions: this.#config.maxVersions,
    });
  }

  #writeConfig(body: Record<string, unknown>): Reply {
    if (body.max_versions !== undefined) {
      if (!Number.isInteger(body.max_versions))
        return errors(400, `error converting input for field "max_versions"`);
      this.#config.maxVersions = body.max_versions as number;
    }
    if (body.cas_required !== undefined) {
      if (typeof body.cas_required !== "boolean")
        return errors(400, `error converting input for field "cas_required"`);
      this.#config.casRequired = body.cas_required;
    }
    if (body.delete_version_after !== undefined) {
      const seconds = parseDurationSeconds(body.delete_version_after);
      if (seconds === undefined)
        return errors(400, `error converting input for field "delete_version_after"`);
      this.#config.deleteVersionAfterSeconds = seconds;
    }
    return noContent;
  }
}

const unsupported = errors(405, "unsupported operation");

function markDeleted(version: VersionState, atMs: number | null): void {
  version.deletionMs = atMs;
  version.deletionTime = atMs === null ? "" : rfc3339Nano(atMs);
}

function invalidPath(method: string): Reply {
  const verb = method === "GET" ? "get" : method === "DELETE" ? "delete" : "put";
  return envelope(null, 404, {
    warnings: [
      `Invalid path for a versioned K/V secrets engine. See the API docs for the appropriate API endpoints to use. If using the Vault CLI, use 'vault kv ${verb}' for this operation.`,
    ],
  });
}

function versionList(value: unknown): number[] | undefined {
  const list = Array.isArray(value)
    ? value
    : typeof value === "string" && value !== ""
      ? value.split(",")
      : [];
  const numbers = list.map((v) => Number(v)).filter((n) => Number.isInteger(n) && n > 0);
  return numbers.length > 0 ? numbers : undefined;
}

function customMetadataProblem(value: unknown): string | undefined {
  if (!isPlainObject(value)) return "custom_metadata must be a map of strings";
  const entries = Object.entries(value);
  if (entries.length > 64) return `payload must contain at most 64 keys, provided ${entries.length}`;
  for (const [k, v] of entries) {
    if (k.length < 1 || k.length > 128)
      return `length of key "${k}" is ${k.length} but must be 0 < len(key) <= 128`;
    if (typeof v !== "string" || v.length < 1 || v.length > 512) {
      return `length of value for key "${k}" must be 0 < len(value) <= 512`;
    }
  }
  return undefined;
}

/** RFC 7396 JSON merge patch, which KV's PATCH applies to the latest version. */
function mergePatch(
  target: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const result: Record<string, unknown> = { ...target };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete result[name];
    else if (isPlainObject(value))
      result[name] = mergePatch(isPlainObject(result[name]) ? result[name] : {}, value);
    else result[name] = value;
  }
  return result;
}
