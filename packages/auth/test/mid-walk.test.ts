import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { type Clock, systemClock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { tempDir } from "@easel/test-utils";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { oauth, ReauthorizationRequiredError, TokenManager, type TokenProvider } from "../src/index.js";
import { canvasGet, clockWithSim, nextLink } from "./helpers.js";

/**
 * A paginated walk as a job would do it: follow Link rel="next", ask the provider for a token
 * before each page, and after a 401 + WWW-Authenticate ask once for a fresh one. (Test-only: the
 * real client lives in @easel/canvas-client, which depends on auth.)
 */
async function walk(
  provider: TokenProvider,
  firstUrl: string,
  afterPage: (page: number) => void = () => {},
  rows: Array<{ id: number }> = [],
): Promise<{ rows: Array<{ id: number }>; stoppedAt?: string; error?: ReauthorizationRequiredError }> {
  let url: string | undefined = firstUrl;
  let page = 0;
  while (url) {
    let token = await provider.getAccessToken();
    let response = await canvasGet(url, token);
    if (response.status === 401 && response.challenged) {
      try {
        token = await provider.handleUnauthorized(token);
      } catch (error) {
        if (error instanceof ReauthorizationRequiredError) return { rows, stoppedAt: url, error };
        throw error;
      }
      response = await canvasGet(url, token);
    }
    if (response.status !== 200) throw new Error(`page ${page + 1}: HTTP ${response.status}`);
    rows.push(...(response.body as Array<{ id: number }>));
    page++;
    afterPage(page);
    url = nextLink(response.link);
  }
  return { rows };
}

let sim: CanvasSim;
let dir: string;
let store: TokenStore;
let first: string;
let expectedIds: number[];

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 21, courses: 1, studentsPerCourse: 150, throttle: false });
  first = `${sim.url}/api/v1/courses/1/enrollments?per_page=10`;
  const reference = await walk(
    { getAccessToken: async () => sim.developerToken, handleUnauthorized: async () => "" },
    first,
  );
  expectedIds = reference.rows.map((row) => row.id);
});
afterAll(async () => {
  await sim?.close();
});
beforeEach(async () => {
  sim.resetStats();
  dir = tempDir("easel-auth-");
  store = await createTokenStore(`file:${dir}/tokens/`, { fernetKeys: generateKey() });
});
afterEach(async () => {
  await store.close();
});

function managerWith(clock?: Clock) {
  const strategy = oauth({
    baseUrl: sim.url,
    clientId: sim.clientId,
    clientSecret: sim.clientSecret,
    clock,
    dangerouslyAllowInsecureHttp: true,
  });
  return new TokenManager(strategy, store, { clock });
}

async function storeMinted(clock: Clock): Promise<TokenRecord> {
  const minted = sim.admin.mintOAuthTokens({ userId: 1 });
  const record: TokenRecord = { ...minted, expires_at: clock.now() / 1000 + minted.expires_in };
  await store.set("default", record);
  return record;
}

describe("a long paginated walk", () => {
  it("has enough pages to be interrupted half-way", () => {
    expect(expectedIds.length).toBeGreaterThan(120); // > 12 pages of 10
    expect(new Set(expectedIds).size).toBe(expectedIds.length);
  });

  it("token expires half-way (Canvas says 401): one refresh, every row exactly once", async () => {
    await storeMinted(systemClock);
    // The manager's clock does not know about the simulator's jump: Canvas's 401 is the signal.
    const manager = managerWith(systemClock);
    const result = await walk(manager, first, (page) => {
      if (page === 8) sim.advanceClock(3600 + 60);
    });
    expect(result.error).toBeUndefined();
    expect(result.rows.map((r) => r.id)).toEqual(expectedIds);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(sim.stats().requests.byStatus["401"]).toBe(1);
  });

  it("token expires half-way by the manager's clock: refreshed before use, no 401 at all", async () => {
    const { clock, advance } = clockWithSim(sim);
    await storeMinted(clock);
    const manager = managerWith(clock);
    const result = await walk(manager, first, (page) => {
      if (page === 8) advance(3600 - 100);
    });
    expect(result.rows.map((r) => r.id)).toEqual(expectedIds);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect(sim.stats().requests.byStatus["401"] ?? 0).toBe(0);
  });

  it("refresh token revoked half-way: stops with ReauthorizationRequiredError at a resumable position, last good record kept", async () => {
    const record = await storeMinted(systemClock);
    const manager = managerWith(systemClock);
    const result = await walk(manager, first, (page) => {
      if (page === 8) {
        // The user removed the integration: access and refresh tokens die together.
        sim.admin.revokeToken(record.refresh_token!);
      }
    });
    expect(result.error).toBeInstanceOf(ReauthorizationRequiredError);
    expect(result.error!.remedy).toBe("easel login");
    expect(result.rows.map((r) => r.id)).toEqual(expectedIds.slice(0, 80));
    expect(result.stoppedAt).toContain("page=");
    expect(await store.get("default")).toEqual(record);
    expect(sim.stats().tokenGrants).toMatchObject({ refresh_token: 0, refused: 1 });

    // After a new login the walk resumes where it stopped: every row exactly once overall.
    await storeMinted(systemClock);
    const resumed = await walk(managerWith(systemClock), result.stoppedAt!, () => {}, result.rows);
    expect(resumed.rows.map((r) => r.id)).toEqual(expectedIds);
  });

  it("access token revoked half-way while the refresh token lives: one refresh, the walk completes", async () => {
    const record = await storeMinted(systemClock);
    const manager = managerWith(systemClock);
    const result = await walk(manager, first, (page) => {
      if (page === 8) sim.admin.expireToken(record.access_token);
    });
    expect(result.rows.map((r) => r.id)).toEqual(expectedIds);
    expect(sim.stats().tokenGrants.refresh_token).toBe(1);
    expect((await store.get("default"))!.refresh_token).toBe(record.refresh_token);
  });
});
