import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { tempDir } from "@easel/test-utils";
import { MemoryStore, type TokenStore } from "@easel/token-store";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  developerToken,
  ReauthorizationRequiredError,
  staticTokenProvider,
  TokenAdmin,
  TokenApiError,
  TokenManager,
} from "../src/index.js";
import { canvasGet, captureLogger } from "./helpers.js";

let sim: CanvasSim;
let clock: ManualClock;
const DAY_MS = 86_400_000;

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 3, courses: 1, studentsPerCourse: 5, throttle: false });
  clock = new ManualClock(sim.now());
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(() => sim.resetStats());

function strategy(logger = captureLogger()) {
  return developerToken({ baseUrl: sim.url, clock, logger, dangerouslyAllowInsecureHttp: true });
}

describe("developer tokens", () => {
  it("a token Canvas rejects needs a person: ReauthorizationRequiredError naming `easel token import`", async () => {
    const dev = strategy();
    const token = sim.admin.createDeveloperToken({ userId: 1 });
    const store = new MemoryStore();
    await store.set("default", dev.recordFor(token));
    const manager = new TokenManager(dev, store);
    expect(await manager.getAccessToken()).toBe(token);
    sim.admin.revokeToken(token);
    const response = await canvasGet(`${sim.url}/api/v1/users/self`, token);
    expect(response).toMatchObject({ status: 401, challenged: true });
    const error = await manager.handleUnauthorized(token).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect(error).toMatchObject({ code: "REAUTH_REQUIRED", remedy: "easel token import" });
    expect((error as Error).message).toBe(
      "developer token is invalid; create a new one in Canvas (Account > Settings > New access token) " +
        "and run `easel token import`",
    );
    expect(await store.get("default")).toEqual({ access_token: token, token_type: "Bearer" });
    expect(sim.stats().tokenGrants.refresh_token).toBe(0);
  });

  it("warns ahead of the expiry the Access Tokens API reports, and records it for later runs", async () => {
    const logger = captureLogger();
    const dev = strategy(logger);
    const token = sim.admin.createDeveloperToken({ userId: 1, expiresAt: sim.now() + 5 * DAY_MS });
    const store = new MemoryStore();
    await store.set("default", dev.recordFor(token));
    const manager = new TokenManager(dev, store, { clock, logger });
    const status = await new TokenAdmin(manager).inspect();
    expect(status.accessToken).toMatchObject({ expiringSoon: true, workflowState: "active" });
    expect(status.accessToken!.expiresInSeconds).toBeGreaterThan(4 * 86_400);
    expect(logger.lines.filter((l) => l.includes('"token-expiry"'))).toHaveLength(1);
    expect(logger.text()).toContain("easel token rotate");

    const stored = (await store.get("default"))!;
    expect(stored.expires_at! * 1000).toBeCloseTo(sim.now() + 5 * DAY_MS, -4);
    expect(typeof stored.token_id).toBe("number");

    // A later process warns from the record alone (no API call), once.
    const later = new TokenManager(dev, store, { clock, logger });
    sim.resetStats();
    await later.getAccessToken();
    await later.getAccessToken();
    expect(logger.lines.filter((l) => l.includes('"token-expiry"'))).toHaveLength(2);
    expect(sim.stats().requests.total).toBe(0);
  });

  it("does not warn for a token far from expiry or without one", async () => {
    const logger = captureLogger();
    const dev = developerToken({
      baseUrl: sim.url,
      clock,
      logger,
      expiryWarningDays: 3,
      dangerouslyAllowInsecureHttp: true,
    });
    const later = sim.admin.createDeveloperToken({ userId: 1, expiresAt: sim.now() + 5 * DAY_MS });
    const never = sim.admin.createDeveloperToken({ userId: 1 });
    expect((await dev.inspect(dev.recordFor(later))).expiringSoon).toBe(false);
    expect((await dev.inspect(dev.recordFor(never))).expiresAt).toBeNull();
    expect(logger.lines).toHaveLength(0);
  });

  it("an expired developer token is refused before Canvas is asked", async () => {
    const dev = strategy();
    const store = new MemoryStore();
    await store.set("default", {
      ...dev.recordFor("expiredtoken1234567890"),
      expires_at: clock.now() / 1000 - 60,
    });
    const manager = new TokenManager(dev, store, { clock });
    const error = await manager.getAccessToken().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ReauthorizationRequiredError);
    expect((error as Error).message).toContain("developer token is expired");
    expect(sim.stats().requests.total).toBe(0);
  });

  describe("rotate", () => {
    let dir: string;
    let store: TokenStore;
    beforeEach(async () => {
      dir = tempDir("easel-auth-");
      store = await createTokenStore(`file:${dir}/tokens/`, { fernetKeys: generateKey() });
    });
    afterEach(async () => {
      await store.close();
    });

    it("regenerates through the Access Tokens API and stores the new token; the old one is then rejected", async () => {
      const dev = strategy();
      const token = sim.admin.createDeveloperToken({ userId: 1 });
      await store.set("default", { ...dev.recordFor(token), note: "kept" });
      const manager = new TokenManager(dev, store, { clock });
      const admin = new TokenAdmin(manager);
      const status = await admin.rotate();
      expect(status).toMatchObject({ present: true, kind: "developer-token", state: "no-expiry" });
      const stored = (await store.get("default"))!;
      expect(stored.access_token).not.toBe(token);
      expect(stored.note).toBe("kept");
      expect(typeof stored.token_id).toBe("number");
      expect(await manager.getAccessToken()).toBe(stored.access_token);
      expect((await canvasGet(`${sim.url}/api/v1/users/self`, stored.access_token)).status).toBe(200);
      expect(await canvasGet(`${sim.url}/api/v1/users/self`, token)).toMatchObject({
        status: 401,
        challenged: true,
      });
      // Rotating again addresses the token by its stored id (the hint changed).
      await admin.rotate();
      expect((await store.get("default"))!.access_token).not.toBe(stored.access_token);
    });

    it("an expired developer token cannot authenticate its own regeneration: ReauthorizationRequiredError, record kept", async () => {
      const dev = strategy();
      const token = sim.admin.createDeveloperToken({ userId: 1, expiresAt: sim.now() + DAY_MS });
      await store.set("default", dev.recordFor(token));
      sim.admin.expireToken(token);
      const manager = new TokenManager(dev, store, { clock });
      // An expired manual token cannot authenticate the PUT either: Canvas says 401.
      const error = await new TokenAdmin(manager).rotate().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ReauthorizationRequiredError);
      expect(await store.get("default")).toEqual(dev.recordFor(token));
    });

    it("cannot regenerate an OAuth token (not manually generated)", async () => {
      const dev = strategy();
      const minted = sim.admin.mintOAuthTokens({ userId: 1 });
      const error = await dev.rotate(dev.recordFor(minted.access_token)).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(TokenApiError);
      expect(error).toMatchObject({ code: "TOKEN_API_FAILED" });
    });

    it("rotate() is only for developer tokens", async () => {
      const manager = new TokenManager(staticStrategy(), store);
      await expect(new TokenAdmin(manager).rotate()).rejects.toMatchObject({ code: "ERR_INVALID_ARG_VALUE" });
    });
  });

  it("revoke deletes the token at Canvas (DELETE /api/v1/users/self/tokens/:id) and the record", async () => {
    const dev = strategy();
    const token = sim.admin.createDeveloperToken({ userId: 1 });
    const store = new MemoryStore();
    await store.set("default", dev.recordFor(token));
    const manager = new TokenManager(dev, store, { clock });
    expect(await new TokenAdmin(manager).revoke()).toEqual({
      present: true,
      revoked: true,
      alreadyInvalid: false,
      deleted: true,
    });
    expect((await canvasGet(`${sim.url}/api/v1/users/self`, token)).status).toBe(401);
    expect(await store.get("default")).toBeUndefined();
  });

  it("staticTokenProvider hands out one token and turns a 401 into ReauthorizationRequiredError", async () => {
    const provider = staticTokenProvider(sim.developerToken);
    expect(await provider.getAccessToken()).toBe(sim.developerToken);
    await expect(provider.handleUnauthorized(sim.developerToken)).rejects.toMatchObject({
      code: "REAUTH_REQUIRED",
      remedy: "easel token import",
    });
  });
});

function staticStrategy() {
  return {
    kind: "oauth" as const,
    baseUrl: "https://canvas.example.edu",
    refreshable: true,
    rotatesRefreshToken: false,
    remedy: "easel login",
    refresh: async () => {
      throw new Error("not used");
    },
    revoke: async () => ({ revoked: true, alreadyInvalid: false }),
  };
}
