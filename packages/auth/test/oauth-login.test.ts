import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  OAuthError,
  oauth,
  ReauthorizationRequiredError,
  RefreshFailedError,
  TokenAdmin,
  TokenManager,
} from "../src/index.js";
import { canvasGet, countingStore, settleWith } from "./helpers.js";

let sim: CanvasSim;
let clock: ManualClock;

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 7, courses: 1, studentsPerCourse: 5, throttle: false });
  clock = new ManualClock(sim.now());
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => {
  sim.faults.clear();
  sim.resetStats();
});

function confidential(redirectUri = "http://127.0.0.1:8765/callback") {
  return oauth({
    baseUrl: sim.url,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    redirectUri,
    purpose: "easel tests",
    clock,
    dangerouslyAllowInsecureHttp: true,
  });
}

function publicClient() {
  return oauth({
    baseUrl: sim.url,
    clientId: sim.publicClientId,
    redirectUri: "http://127.0.0.1:8765/callback",
    clock,
    dangerouslyAllowInsecureHttp: true,
  });
}

/** Walks the consent page as a browser would with the simulator's auto-approval. */
async function approve(url: string): Promise<string> {
  const response = await fetch(`${url}&auto=1`, { redirect: "manual" });
  expect(response.status).toBe(302);
  return response.headers.get("location")!;
}

describe("login (authorization code + PKCE + state) against the simulator", () => {
  it("sends S256 PKCE, state and purpose, and stores Canvas's full answer with expires_at", async () => {
    const strategy = confidential();
    const { url, state, codeVerifier } = strategy.startLogin();
    const auth = new URL(url);
    expect(auth.origin + auth.pathname).toBe(`${sim.url}/login/oauth2/auth`);
    expect(auth.searchParams.get("code_challenge_method")).toBe("S256");
    expect(auth.searchParams.get("code_challenge")).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(auth.searchParams.get("state")).toBe(state);
    expect(auth.searchParams.get("purpose")).toBe("easel tests");
    expect(auth.searchParams.get("client_id")).toBe(sim.clientId);
    expect(url).not.toContain(codeVerifier);

    const callback = await approve(url);
    const record = await strategy.handleCallback(callback, { expectedState: state, codeVerifier });
    expect(record.token_type).toBe("Bearer");
    expect(record.refresh_token).toEqual(expect.any(String));
    expect(record.user).toMatchObject({ id: expect.any(Number), name: expect.any(String) });
    expect(record.canvas_region).toBe("unknown");
    expect(record.expires_in).toBe(3600);
    // expires_at is the injected clock's now + expires_in (epoch seconds, like Python's time.time()).
    expect(record.expires_at).toBe(clock.now() / 1000 + 3600);
    expect(Object.values(record).some((v) => typeof v === "function")).toBe(false);
    expect(sim.stats().tokenGrants.authorization_code).toBe(1);

    const self = await canvasGet(`${sim.url}/api/v1/users/self`, record.access_token);
    expect(self.status).toBe(200);
    expect((self.body as { id: number }).id).toBe(record.user!.id);
  });

  it("is refused by the simulator when the PKCE verifier is wrong", async () => {
    const strategy = confidential();
    const { url, state } = strategy.startLogin();
    const callback = await approve(url);
    const wrongVerifier = "w".repeat(64);
    const error = await strategy
      .handleCallback(callback, { expectedState: state, codeVerifier: wrongVerifier })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ code: "OAUTH_ERROR", error: "invalid_grant", status: 400 });
    expect(sim.stats().tokenGrants).toMatchObject({ authorization_code: 0, refused: 1 });
  });

  it("rejects a callback whose state does not match, before any token request", async () => {
    const strategy = confidential();
    const { url, codeVerifier } = strategy.startLogin();
    const callback = await approve(url);
    const other = strategy.startLogin();
    const error = await strategy
      .handleCallback(callback, { expectedState: other.state, codeVerifier })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "state_mismatch" });
    const code = new URL(callback).searchParams.get("code")!;
    const viaExchange = await strategy
      .exchangeCode({ code, state: null, expectedState: other.state, codeVerifier })
      .catch((e: unknown) => e);
    expect(viaExchange).toMatchObject({ error: "state_mismatch" });
    expect(sim.stats().tokenGrants).toEqual({ authorization_code: 0, refresh_token: 0, refused: 0 });
  });

  it("turns a denied consent into OAuthError access_denied", async () => {
    const strategy = confidential();
    const { url, state, codeVerifier } = strategy.startLogin();
    const auth = new URL(url);
    const deny = new URL(`${sim.url}/login/oauth2/deny`);
    for (const name of ["client_id", "redirect_uri", "state"])
      deny.searchParams.set(name, auth.searchParams.get(name)!);
    const response = await fetch(deny, { redirect: "manual" });
    const error = await strategy
      .handleCallback(response.headers.get("location")!, { expectedState: state, codeVerifier })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "access_denied" });
  });

  it("reports a wrong client secret as OAuthError invalid_client (not retried, not re-login)", async () => {
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: "not-the-secret",
      redirectUri: "http://127.0.0.1:8765/callback",
      dangerouslyAllowInsecureHttp: true,
    });
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const error = await strategy.refresh({ ...minted, token_type: "Bearer" }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(OAuthError);
    expect(error).toMatchObject({ error: "invalid_client", status: 401 });
    expect((error as Error).message).toContain("CANVAS_CLIENT_SECRET");
  });
});

describe("refresh against the simulator", () => {
  async function loggedIn(strategy: ReturnType<typeof confidential>) {
    const { url, state, codeVerifier } = strategy.startLogin();
    return strategy.handleCallback(await approve(url), { expectedState: state, codeVerifier });
  }

  it("keeps the old refresh token when Canvas's answer has none (confidential client)", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", { ...record, extra_field: "kept" });
    const manager = new TokenManager(strategy, store, { clock });
    await new TokenAdmin(manager).refresh();
    const stored = (await store.get("default"))!;
    expect(stored.access_token).not.toBe(record.access_token);
    expect(stored.refresh_token).toBe(record.refresh_token);
    expect(stored.user).toEqual(record.user);
    expect(stored.canvas_region).toBe("unknown");
    expect(stored.extra_field).toBe("kept");
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, stored.access_token)).status).toBe(200);
    // Canvas replaces the access token on refresh: the old string is dead.
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, record.access_token)).status).toBe(401);
  });

  it("stores the rotated refresh token of a public PKCE client; the old one is then refused", async () => {
    const strategy = publicClient();
    expect(strategy.publicClient).toBe(true);
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    const admin = new TokenAdmin(new TokenManager(strategy, store, { clock }));
    await admin.refresh();
    const stored = (await store.get("default"))!;
    expect(stored.refresh_token).toEqual(expect.any(String));
    expect(stored.refresh_token).not.toBe(record.refresh_token);
    // Refreshing again works with the stored (rotated) token...
    await admin.refresh();
    expect(sim.stats().tokenGrants.refresh_token).toBe(2);
    // ...while the original one was consumed.
    const error = await strategy.refresh(record).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect((error as Error).message).toContain("rotates refresh tokens");
  });

  it("a refused refresh (revoked) is ReauthorizationRequiredError and leaves the record untouched", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = countingStore(new MemoryStore());
    await store.set("ci", record);
    store.sets = 0;
    sim.admin.revokeToken(record.refresh_token!);
    const manager = new TokenManager(strategy, store, { key: "ci", clock });
    const error = await manager.handleUnauthorized(record.access_token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect(error).toMatchObject({ code: "REAUTH_REQUIRED", remedy: "easel login --key ci", status: 400 });
    expect((error as Error).message).toContain("refresh_token not found");
    expect(await store.get("ci")).toEqual(record);
    expect(store.sets).toBe(0);
    expect(store.deletes).toBe(0);
    // Asking again does not hit Canvas again for the same refused refresh token.
    await expect(manager.handleUnauthorized(record.access_token)).rejects.toBeInstanceOf(
      ReauthorizationRequiredError,
    );
    expect(sim.stats().tokenGrants.refused).toBe(1);
  });

  it("retries transient 5xx from the token endpoint with backoff, then succeeds", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    sim.faults.add({ fault: "503", route: "POST /login/oauth2/token", times: 2 });
    const events: unknown[] = [];
    const manager = new TokenManager(strategy, store, {
      clock,
      retryDelayMs: 10,
      onEvent: (event) => events.push(event),
    });
    const status = await settleWith(clock, new TokenAdmin(manager).refresh());
    expect(status.state).toBe("valid");
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(sim.stats().faults.injected).toBe(2);
    expect(events).toContainEqual(
      expect.objectContaining({ type: "refresh", outcome: "refreshed", attempts: 3 }),
    );
  });

  it("waits between retries on the injected clock, for the backoff's delay", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    sim.faults.add({ fault: "503", route: "POST /login/oauth2/token", times: 1 });
    const manager = new TokenManager(strategy, store, { clock, retryDelayMs: 10_000 });
    const started = clock.now();
    const refreshed = new TokenAdmin(manager).refresh();
    await clock.untilSleeping();
    // Equal jitter: the first retry waits between half and all of retryDelayMs.
    await clock.advance(4_999);
    expect(clock.sleeping).toBe(1);
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);
    await clock.advance(5_001);
    expect((await refreshed).state).toBe("valid");
    expect(clock.now() - started).toBe(10_000);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
  });

  it("a forced refresh by TokenAdmin joins the manager's refresh in flight: one grant", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    const manager = new TokenManager(strategy, store, { clock });
    const [fresh, status] = await Promise.all([
      manager.handleUnauthorized(record.access_token),
      new TokenAdmin(manager).refresh(),
    ]);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(manager.stats()).toMatchObject({ refreshes: 1, joined: 1 });
    expect(status.state).toBe("valid");
    expect((await store.get("default"))!.access_token).toBe(fresh);
  });

  it("gives up after refreshRetries transient failures with REFRESH_FAILED, record unchanged", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = countingStore(new MemoryStore());
    await store.set("default", record);
    store.sets = 0;
    sim.faults.add({ fault: "500", route: "POST /login/oauth2/token", times: 10 });
    const manager = new TokenManager(strategy, store, {
      clock,
      retryDelayMs: 5,
      refreshRetries: 2,
    });
    const error = await settleWith(clock, new TokenAdmin(manager).refresh()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RefreshFailedError);
    expect(error).toMatchObject({ code: "REFRESH_FAILED", attempts: 3, status: 500, retryable: true });
    expect(sim.stats().faults.injected).toBe(3);
    expect(store.sets).toBe(0);
    expect(await store.get("default")).toEqual(record);
  });

  it("treats a dropped connection on the token endpoint as transient", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    sim.faults.add({ fault: "drop", route: "POST /login/oauth2/token", times: 1 });
    const manager = new TokenManager(strategy, store, { clock, retryDelayMs: 5 });
    await settleWith(clock, new TokenAdmin(manager).refresh());
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
  });

  it("revokes with DELETE /login/oauth2/token; the refresh token dies with it", async () => {
    const strategy = confidential();
    const record = await loggedIn(strategy);
    const store = new MemoryStore();
    await store.set("default", record);
    const manager = new TokenManager(strategy, store, { clock });
    const result = await new TokenAdmin(manager).revoke();
    expect(result).toEqual({ present: true, revoked: true, alreadyInvalid: false, deleted: true });
    expect(await store.get("default")).toBeUndefined();
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, record.access_token)).status).toBe(401);
    await expect(strategy.refresh(record)).rejects.toBeInstanceOf(ReauthorizationRequiredError);
    expect(await strategy.revoke(record)).toEqual({ revoked: false, alreadyInvalid: true });
  });
});

describe("options are validated once", () => {
  it("refuses http:// without the escape hatch, and the escape hatch for a non-loopback host", () => {
    expect(() => oauth({ baseUrl: sim.url, clientId: "1" })).toThrow(/dangerouslyAllowInsecureHttp/);
    expect(() =>
      oauth({ baseUrl: "http://canvas.example.edu", clientId: "1", dangerouslyAllowInsecureHttp: true }),
    ).toThrow(/loopback/);
    expect(() => oauth({ baseUrl: "https://canvas.example.edu", clientId: "" })).toThrow(TypeError);
    try {
      oauth({ baseUrl: "https://canvas.example.edu", clientId: "1", timeoutMs: -1 });
    } catch (error) {
      expect(error).toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
      expect((error as Error).message).toContain("timeoutMs");
    }
  });

  it("needs a redirect URI to log in, from the factory or the call", () => {
    const strategy = oauth({ baseUrl: "https://canvas.example.edu", clientId: "1", clientSecret: "s" });
    expect(() => strategy.startLogin()).toThrow(/redirectUri/);
    const start = strategy.startLogin({ redirectUri: "http://127.0.0.1:9/callback" });
    expect(new URL(start.url).searchParams.get("redirect_uri")).toBe("http://127.0.0.1:9/callback");
  });
});
