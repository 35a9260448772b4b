import { developerToken } from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, LOGIN_COOKIE } from "../src/index.js";
import { startSim } from "./helpers.js";

const SESSION_SECRET = "a-session-secret-of-at-least-32-characters!";
const HTTP_BASE = "http://127.0.0.1:4999";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 5, assignmentsPerCourse: 2 });
});
afterAll(() => sim?.close());

describe("/metrics: seconds to expiry of the stored token", () => {
  it("exposes easel_gateway_token_expiry_seconds per store key, read at each scrape", async () => {
    const store = new MemoryStore();
    const strategy = developerToken({ baseUrl: sim.url, dangerouslyAllowInsecureHttp: true });
    const expiresAt = Date.now() / 1000 + 10 * 86_400;
    const token = sim.admin.createDeveloperToken({ userId: 1, expiresAt: expiresAt * 1000 });
    await store.set("robot", { ...strategy.recordFor(token), expires_at: expiresAt });
    const gateway = createGateway({
      mode: "service",
      canvasBaseUrl: sim.url,
      auth: { strategy, store, key: "robot" },
      apiKeys: ["a-service-api-key-0123456789"],
      logger: false,
    });
    try {
      const scrape = async () => (await (await gateway.fetch(`${HTTP_BASE}/metrics`)).text()) as string;
      const value = (text: string) =>
        Number(/^easel_gateway_token_expiry_seconds\{key="robot"\} (-?\d+)$/m.exec(text)?.[1]);
      expect(Math.abs(value(await scrape()) - 864_000)).toBeLessThan(60);
      // A rotation stored a new expiry: the next scrape shows it.
      await store.set("robot", { ...strategy.recordFor(token), expires_at: expiresAt - 9 * 86_400 });
      expect(Math.abs(value(await scrape()) - 86_400)).toBeLessThan(60);
    } finally {
      await gateway.close();
    }
  });
});

describe("user mode: replace tokens and the refresh buffer", () => {
  it("with replaceTokens, a new login deletes the person's earlier token for the key", async () => {
    const store = new MemoryStore();
    const gateway = createGateway({
      mode: "user",
      canvasBaseUrl: sim.url,
      oauth: {
        clientId: sim.clientId,
        clientSecret: sim.clientSecret,
        dangerouslyAllowInsecureHttp: true,
        replaceTokens: true,
      },
      tokenRefreshBufferSeconds: 600,
      store,
      sessionSecret: SESSION_SECRET,
      logger: false,
    });
    const teacher = String(sim.data.staff(1)[0]!.login_id);
    const teacherId = sim.data.staff(1)[0]!.id;
    let lastSetCookie = "";
    const login = async () => {
      const start = await gateway.fetch(`${HTTP_BASE}/auth/login`, { redirect: "manual" });
      const binding = /easel_login=([^;]+)/.exec(start.headers.get("set-cookie") ?? "")![1];
      const consent = new URL(start.headers.get("location")!);
      consent.searchParams.set("auto", "1");
      consent.searchParams.set("unique_id", teacher);
      const callback = (await fetch(consent, { redirect: "manual" })).headers.get("location")!;
      const done = await gateway.fetch(callback, {
        redirect: "manual",
        headers: { cookie: `${LOGIN_COOKIE}=${binding}` },
      });
      expect(done.status).toBe(302);
      lastSetCookie = done.headers.get("set-cookie") ?? "";
      return (await store.get(`user:${teacherId}`))!.access_token;
    };
    try {
      const first = await login();
      const second = await login();
      expect(second).not.toBe(first);
      const old = await fetch(`${sim.url}/api/v1/users/self`, {
        headers: { authorization: `Bearer ${first}` },
      });
      expect(old.status).toBe(401);
      const current = await fetch(`${sim.url}/api/v1/users/self`, {
        headers: { authorization: `Bearer ${second}` },
      });
      expect(current.status).toBe(200);
      // Once the person has made a request, their record's expiry is in /metrics under their key.
      const session = /easel_session=([^;]+)/.exec(lastSetCookie)![1];
      const viewer = await gateway.fetch(`${HTTP_BASE}/graphql`, {
        method: "POST",
        headers: { "content-type": "application/json", cookie: `easel_session=${session}` },
        body: JSON.stringify({ query: "{ viewer { id } }" }),
      });
      expect(viewer.status).toBe(200);
      const metrics = await (await gateway.fetch(`${HTTP_BASE}/metrics`)).text();
      const seconds = Number(
        new RegExp(`^easel_gateway_token_expiry_seconds\\{key="user:${teacherId}"\\} (-?\\d+)$`, "m").exec(
          metrics,
        )?.[1],
      );
      expect(Math.abs(seconds - 3600)).toBeLessThan(60);
    } finally {
      await gateway.close();
    }
  });

  it("refuses a refresh buffer outside 0..86400 seconds, naming the option", () => {
    expect(() =>
      createGateway({
        mode: "service",
        canvasBaseUrl: sim.url,
        auth: sim.developerToken,
        apiKeys: ["a-service-api-key-0123456789"],
        tokenRefreshBufferSeconds: -1,
        logger: false,
      }),
    ).toThrow(/tokenRefreshBufferSeconds/);
  });
});
