import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayUrl, startEasel } from "./export-helpers.js";

let sim: CanvasSim;
let home: string;
const fernetKey = generateKey();

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 31, courses: 1, studentsPerCourse: 3, throttle: false });
  home = await mkdtemp(join(tmpdir(), "easel-cli-serve-"));
});
afterAll(async () => {
  await sim?.close();
  await rm(home, { recursive: true, force: true });
});

describe("easel serve (service mode) warns once when the stored token expires soon", () => {
  it("names the expiry on stderr at start", async () => {
    const storeUri = `file:${home}/service/`;
    const expiresAt = Date.now() / 1000 + 3 * 86_400;
    const token = sim.admin.createDeveloperToken({ userId: 1, expiresAt: expiresAt * 1000 });
    const store = await createTokenStore(storeUri, { fernetKeys: fernetKey });
    await store.set("default", { access_token: token, token_type: "Bearer", expires_at: expiresAt });
    await store.close();
    const run = startEasel(
      ["serve", "--port", "0", "--store", storeUri],
      {
        CANVAS_BASE_URL: sim.url,
        EASEL_FERNET_KEY: fernetKey,
        EASEL_GATEWAY_KEYS: "a-service-api-key-0123456789",
      },
      home,
    );
    try {
      const base = await gatewayUrl(run);
      expect(run.stderr().match(/warning: the Canvas token in "default" expires at/g)).toHaveLength(1);
      expect(run.stderr()).toMatch(/\((2|3) days left\)/);
      const metrics = await (await fetch(`${base}/metrics`)).text();
      const seconds = Number(
        /^easel_gateway_token_expiry_seconds\{key="default"\} (-?\d+)$/m.exec(metrics)?.[1],
      );
      expect(Math.abs(seconds - 3 * 86_400)).toBeLessThan(120);
    } finally {
      run.child.kill("SIGTERM");
      await run.done;
    }
  });
});

describe("easel serve --mode user: scopes and replace tokens by flag and env; logout revokes", () => {
  it("asks Canvas for the scopes, replaces earlier tokens at login, and revokes at logout", async () => {
    const storeUri = `file:${home}/users/`;
    const run = startEasel(
      [
        "serve",
        "--mode",
        "user",
        "--port",
        "0",
        "--scopes",
        "url:GET|/api/v1/courses",
        "--refresh-buffer",
        "120",
      ],
      {
        CANVAS_BASE_URL: sim.url,
        CANVAS_CLIENT_ID: sim.clientId,
        CANVAS_CLIENT_SECRET: sim.clientSecret,
        EASEL_FERNET_KEY: fernetKey,
        EASEL_TOKEN_STORE: storeUri,
        EASEL_SESSION_SECRET: "a-session-secret-of-at-least-32-characters!",
        EASEL_GATEWAY_REPLACE_TOKENS: "1",
      },
      home,
    );
    try {
      const base = await gatewayUrl(run);
      const admin = 1;
      const login = async (): Promise<{ token: string; cookie: string }> => {
        const start = await fetch(`${base}/auth/login`, { redirect: "manual" });
        const binding = /easel_login=([^;]+)/.exec(start.headers.get("set-cookie") ?? "")![1];
        const consent = new URL(start.headers.get("location")!);
        expect(consent.searchParams.get("scope")).toBe("url:GET|/api/v1/courses");
        consent.searchParams.set("auto", "1");
        const callback = (await fetch(consent, { redirect: "manual" })).headers.get("location")!;
        const done = await fetch(callback, {
          redirect: "manual",
          headers: { cookie: `easel_login=${binding}` },
        });
        expect(done.status, await done.clone().text()).toBe(302);
        const session = /easel_session=([^;]+)/.exec(done.headers.get("set-cookie") ?? "")![1];
        const store = await createTokenStore(storeUri, { fernetKeys: fernetKey });
        const record = (await store.get(`user:${admin}`))!;
        await store.close();
        return { token: record.access_token, cookie: `easel_session=${session}` };
      };
      const self = (token: string) =>
        fetch(`${sim.url}/api/v1/courses`, { headers: { authorization: `Bearer ${token}` } }).then(
          (r) => r.status,
        );
      const first = await login();
      const second = await login();
      expect(await self(first.token)).toBe(401);
      expect(await self(second.token)).toBe(200);

      const out = await fetch(`${base}/auth/logout`, { method: "POST", headers: { cookie: second.cookie } });
      expect(await out.json()).toEqual({ loggedOut: true, revoked: true });
      expect(await self(second.token)).toBe(401);
      const store = await createTokenStore(storeUri, { fernetKeys: fernetKey });
      expect(await store.get(`user:${admin}`)).toBeUndefined();
      await store.close();
    } finally {
      run.child.kill("SIGTERM");
      await run.done;
    }
  });
});
