import { invalidArg } from "./errors.js";
import { mulberry32 } from "./hash.js";

/**
 * What a fault does to a request:
 * - `"500" | "502" | "503"`: that status (500 with Canvas's JSON error body, 502/503 as a proxy's HTML);
 *   `"5xx"` picks one of the three (seeded).
 * - `"401-expired"`: 401 `Invalid access token.` with `WWW-Authenticate`, as if the token had just expired.
 * - `"403-throttled"` / `"429"`: Canvas's legacy / current throttled response; `"throttle"` uses the
 *   simulator's `throttleStatus`.
 * - `"slow"`: the request is served normally after `latencyMs` (default 300).
 * - `"drop"`: the socket is destroyed without a response.
 * - `"truncate"`: a 200 whose body stops halfway (Content-Length promises more) and the socket closes.
 * - `"malformed"`: a 200 `application/json` whose body is not JSON.
 */
export type FaultKind =
  | "500"
  | "502"
  | "503"
  | "5xx"
  | "401-expired"
  | "403-throttled"
  | "429"
  | "throttle"
  | "slow"
  | "drop"
  | "truncate"
  | "malformed";

/** One fault-injection rule. */
export interface FaultRule {
  fault: FaultKind;
  /**
   * Which requests: `"GET /api/v1/courses/:course_id/enrollments"` (a stats route key), a path pattern
   * (`/api/v1/courses/*`, `:name` matches one segment, `*` anything), optionally prefixed by a method;
   * `"*"` matches every route including OAuth's. Never matches `/__sim/`.
   * @default every `/api/` route
   */
  route?: string;
  /** Fire on the next N matching requests only (then the rule retires). */
  times?: number;
  /** Chance of firing on each matching request, drawn from the seeded fault RNG. @default 1 */
  probability?: number;
  /** Delay of a `"slow"` fault in milliseconds. @default 300 */
  latencyMs?: number;
}

/** A rule as the injector keeps it (normalised, with an id and a remaining count). */
export interface ActiveFaultRule extends Required<Pick<FaultRule, "fault" | "probability">> {
  id: number;
  route: string | null;
  times: number | null;
  latencyMs: number;
  fired: number;
}

const KIND_ALIASES: Record<string, FaultKind> = {
  "500": "500",
  "502": "502",
  "503": "503",
  "5xx": "5xx",
  "401": "401-expired",
  "401-expired": "401-expired",
  expired: "401-expired",
  "403": "403-throttled",
  "403-throttled": "403-throttled",
  "429": "429",
  throttle: "throttle",
  throttled: "throttle",
  slow: "slow",
  latency: "slow",
  drop: "drop",
  truncate: "truncate",
  truncated: "truncate",
  malformed: "malformed",
};

/** The default delay of `slow` faults. */
export const DEFAULT_SLOW_MS = 300;

/**
 * Parses the `--faults` string form: comma-separated `KIND[=MS]:AMOUNT[@ROUTE]` entries, where AMOUNT is a
 * probability in [0, 1] or `xN` (the next N matching requests), and `=MS` sets a `slow` delay.
 * @example parseFaultSpec("5xx:0.03,drop:0.01,throttle:0.02,slow=800:0.05,503:x2@GET /api/v1/courses")
 */
export function parseFaultSpec(spec: string): FaultRule[] {
  if (typeof spec !== "string") throw invalidArg("faults", spec, "must be a string or an array of rules");
  const rules: FaultRule[] = [];
  for (const rawEntry of spec.split(",")) {
    const entry = rawEntry.trim();
    if (entry === "") continue;
    const at = entry.indexOf("@");
    const head = at === -1 ? entry : entry.slice(0, at);
    const route = at === -1 ? undefined : entry.slice(at + 1).trim();
    const colon = head.indexOf(":");
    const kindPart = (colon === -1 ? head : head.slice(0, colon)).trim();
    const amount = colon === -1 ? "" : head.slice(colon + 1).trim();
    const [kindName = "", param] = kindPart.split("=");
    const fault = KIND_ALIASES[kindName.toLowerCase()];
    if (!fault) throw invalidArg("faults", spec, `has an unknown fault kind "${kindName}"`);
    const rule: FaultRule = { fault };
    if (param !== undefined) {
      const ms = Number(param.replace(/ms$/, ""));
      if (!Number.isFinite(ms) || ms < 0) throw invalidArg("faults", spec, `has a bad delay "${param}"`);
      rule.latencyMs = ms;
    }
    if (amount !== "") {
      const times = /^x(\d+)$/i.exec(amount) ?? /^(\d+)x$/i.exec(amount);
      if (times) rule.times = Number(times[1]);
      else {
        const probability = Number(amount);
        if (!Number.isFinite(probability) || probability < 0 || probability > 1) {
          throw invalidArg("faults", spec, `has a bad amount "${amount}" (a probability in [0, 1] or xN)`);
        }
        rule.probability = probability;
      }
    }
    if (route) rule.route = route;
    rules.push(rule);
  }
  return rules;
}

interface CompiledRoute {
  method: string | null;
  regex: RegExp | null;
  any: boolean;
}

function compileRoute(route: string | null): CompiledRoute {
  if (route === null) return { method: null, regex: null, any: false };
  const trimmed = route.trim();
  if (trimmed === "*") return { method: null, regex: null, any: true };
  const space = trimmed.indexOf(" ");
  const method = space === -1 ? null : trimmed.slice(0, space).toUpperCase();
  const path = space === -1 ? trimmed : trimmed.slice(space + 1).trim();
  const source = path
    .split(/(\*|:[A-Za-z_][A-Za-z0-9_]*)/)
    .map((part) => {
      if (part === "*") return ".*";
      if (part.startsWith(":")) return "[^/]+";
      return part.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
    })
    .join("");
  return { method, regex: new RegExp(`^${source}/?$`), any: false };
}

function normalizeRule(rule: FaultRule, id: number): ActiveFaultRule {
  if (rule === null || typeof rule !== "object") throw invalidArg("faults", rule, "must hold fault rules");
  const fault = KIND_ALIASES[String(rule.fault).toLowerCase()];
  if (!fault) throw invalidArg("fault", rule.fault, `must be one of ${Object.keys(KIND_ALIASES).join(", ")}`);
  const probability = rule.probability ?? 1;
  if (typeof probability !== "number" || !(probability >= 0 && probability <= 1)) {
    throw invalidArg("probability", probability, "must be a number in [0, 1]");
  }
  const times = rule.times ?? null;
  if (times !== null && !(Number.isInteger(times) && times >= 0)) {
    throw invalidArg("times", times, "must be a non-negative integer");
  }
  const latencyMs = rule.latencyMs ?? DEFAULT_SLOW_MS;
  if (typeof latencyMs !== "number" || !(latencyMs >= 0)) {
    throw invalidArg("latencyMs", latencyMs, "must be a non-negative number");
  }
  const route = rule.route ?? null;
  if (route !== null && typeof route !== "string") throw invalidArg("route", route, "must be a string");
  return { id, fault, probability, times, latencyMs, route, fired: 0 };
}

/** Decides, per request, whether a fault fires. Seeded: the same request sequence gives the same faults. */
export class FaultInjector {
  readonly #rules: Array<{ rule: ActiveFaultRule; compiled: CompiledRoute }> = [];
  readonly #random: () => number;
  #nextId = 1;
  injected = 0;
  readonly byKind = new Map<FaultKind, number>();

  constructor(seed: number) {
    this.#random = mulberry32(seed ^ 0x5eed_fa17);
  }

  /** Adds rules (objects, or the string form); returns their ids. */
  add(rules: FaultRule | FaultRule[] | string): number[] {
    const list = typeof rules === "string" ? parseFaultSpec(rules) : Array.isArray(rules) ? rules : [rules];
    const normalized = list.map((rule) => normalizeRule(rule, this.#nextId++));
    for (const rule of normalized) this.#rules.push({ rule, compiled: compileRoute(rule.route) });
    return normalized.map((rule) => rule.id);
  }

  remove(id: number): boolean {
    const index = this.#rules.findIndex((entry) => entry.rule.id === id);
    if (index === -1) return false;
    this.#rules.splice(index, 1);
    return true;
  }

  clear(): void {
    this.#rules.length = 0;
  }

  list(): ActiveFaultRule[] {
    return this.#rules.map((entry) => ({ ...entry.rule }));
  }

  /** Picks the fault for one request, or null. `routeKey` is the stats key (method + template). */
  pick(method: string, path: string, routeKey: string): ActiveFaultRule | null {
    if (this.#rules.length === 0) return null;
    const isApi = path.startsWith("/api/");
    for (let i = 0; i < this.#rules.length; i++) {
      const { rule, compiled } = this.#rules[i]!;
      if (!matches(compiled, method, path, routeKey, isApi)) continue;
      if (rule.times !== null && rule.times <= 0) continue;
      if (rule.probability < 1 && this.#random() >= rule.probability) continue;
      rule.fired++;
      if (rule.times !== null) {
        rule.times--;
        if (rule.times === 0) this.#rules.splice(i, 1);
      }
      this.injected++;
      this.byKind.set(rule.fault, (this.byKind.get(rule.fault) ?? 0) + 1);
      return rule;
    }
    return null;
  }

  /** A seeded choice among 500/502/503 for `5xx` faults. */
  pickServerError(): 500 | 502 | 503 {
    const unit = this.#random();
    return unit < 1 / 3 ? 500 : unit < 2 / 3 ? 502 : 503;
  }

  resetCounters(): void {
    this.injected = 0;
    this.byKind.clear();
  }
}

function matches(compiled: CompiledRoute, method: string, path: string, routeKey: string, isApi: boolean) {
  if (compiled.any) return true;
  if (compiled.regex === null) return isApi;
  if (compiled.method !== null && compiled.method !== method) return false;
  if (compiled.regex.test(path)) return true;
  // A stats route key ("GET /api/v1/courses/:course_id/enrollments") names the template exactly.
  const space = routeKey.indexOf(" ");
  return compiled.regex.test(routeKey.slice(space + 1));
}
