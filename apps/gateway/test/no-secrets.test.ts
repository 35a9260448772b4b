import type { CanvasSim } from "@easel/canvas-sim";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createGateway, type Gateway, LOGIN_COOKIE, SESSION_COOKIE } from "../src/index.js";
import {
  API_KEY,
  createGatewayLogger,
  gql,
  LogCapture,
  OUTSIDE_QUERY,
  serviceGateway,
  startSim,
} from "./helpers.js";

const SESSION_SECRET = "session-secret-that-must-never-show-up-0123456789";
const BASE = "http://127.0.0.1:4999";

let sim: CanvasSim;
const logs = new LogCapture();
const gateways: Gateway[] = [];
/** Every response body and header seen (Set-Cookie of our own cookies aside). */
const responses: string[] = [];

async function record(response: Response): Promise<Response> {
  const headers = [...response.headers.entries()].filter(([name]) => name !== "set-cookie");
  responses.push(JSON.stringify(headers), await response.clone().text());
  return response;
}

beforeAll(async () => {
  sim = await startSim({ studentsPerCourse: 8, assignmentsPerCourse: 2 });
});
afterAll(async () => {
  await Promise.all(gateways.map((g) => g.close()));
  await sim?.close();
});

describe("no token or secret in any response or log line", () => {
  it("across successes, Canvas failures, auth failures and a full user-mode login", async () => {
    const logger = createGatewayLogger({ level: "debug" }, logs);
    const secrets: Record<string, string> = {
      developerToken: sim.developerToken,
      clientSecret: sim.clientSecret,
      apiKey: API_KEY,
      sessionSecret: SESSION_SECRET,
    };

    // Service mode: good queries, masked failures, bad keys.
    const service = serviceGateway(sim, { logger });
    gateways.push(service);
    const q = async (query: string, headers: Record<string, string> = {}) => {
      const result = await gql(service, query, { headers });
      responses.push(result.text, JSON.stringify([...result.headers.entries()]));
      return result;
    };
    await q(OUTSIDE_QUERY);
    await q(
      '{ course(id: "2") { students { nodes { submissions { score } attendance { rollCallScore } } } } }',
    );
    sim.admin.setCourseForbidden(sim.data.adminUserId, 3, true);
    await q('{ course(id: "3") { name } }');
    for (const fault of ["503", "malformed", "drop", "429", "truncate"]) {
      sim.faults.add(`${fault}:x1@GET /api/v1/users/:id`);
      await q("{ viewer { id name } }");
    }
    await q("{ viewer { id } }", { "x-api-key": "wrong-key-but-long-enough" });
    await q("{ viewer { id } }", { "x-api-key": "", authorization: `Bearer ${API_KEY.slice(0, -1)}` });

    // A revoked developer token.
    const doomed = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "doomed" });
    secrets.doomedToken = doomed;
    const revoked = serviceGateway(sim, { auth: doomed, logger });
    gateways.push(revoked);
    sim.admin.revokeToken(doomed);
    const reauth = await gql(revoked, "{ viewer { id } }");
    responses.push(reauth.text);
    expect(reauth.body.errors?.[0]?.extensions?.code).toBe("REAUTH_REQUIRED");

    // User mode: login, queries, an expired access token refreshed, logout, a forged callback.
    const store = new MemoryStore();
    const user = createGateway({
      mode: "user",
      canvasBaseUrl: sim.url,
      oauth: { clientId: sim.clientId, clientSecret: sim.clientSecret, dangerouslyAllowInsecureHttp: true },
      store,
      sessionSecret: SESSION_SECRET,
      logger,
    });
    gateways.push(user);
    const start = await record(await user.fetch(`${BASE}/auth/login`, { redirect: "manual" }));
    const binding = /easel_login=([^;]+)/.exec(start.headers.get("set-cookie") ?? "")![1]!;
    const consent = new URL(start.headers.get("location")!);
    consent.searchParams.set("auto", "1");
    consent.searchParams.set("unique_id", String(sim.data.staff(1)[0]!.login_id));
    const callback = (await fetch(consent, { redirect: "manual" })).headers.get("location")!;
    secrets.oauthCode = new URL(callback).searchParams.get("code")!;
    const done = await record(
      await user.fetch(callback, { redirect: "manual", headers: { cookie: `${LOGIN_COOKIE}=${binding}` } }),
    );
    const session = /easel_session=([^;]+)/.exec(done.headers.get("set-cookie") ?? "")![1]!;
    secrets.sessionCookie = session;
    const teacherId = sim.data.staff(1)[0]!.id;
    const stored = (await store.get(`user:${teacherId}`))!;
    secrets.userAccessToken = stored.access_token;
    secrets.userRefreshToken = String(stored.refresh_token);

    const userQuery = async (query: string) =>
      record(
        await user.fetch(`${BASE}/graphql`, {
          method: "POST",
          headers: { "content-type": "application/json", cookie: `${SESSION_COOKIE}=${session}` },
          body: JSON.stringify({ query }),
        }),
      );
    await userQuery(OUTSIDE_QUERY);
    // Canvas now says the access token is invalid: the TokenManager refreshes and retries.
    sim.admin.expireToken(stored.access_token);
    const afterExpiry = await userQuery("{ viewer { id } }");
    expect(afterExpiry.status).toBe(200);
    const refreshed = (await store.get(`user:${teacherId}`))!;
    expect(refreshed.access_token).not.toBe(stored.access_token);
    secrets.refreshedAccessToken = refreshed.access_token;
    await record(await user.fetch(callback, { redirect: "manual" }));
    await record(
      await user.fetch(`${BASE}/auth/logout`, {
        method: "POST",
        headers: { cookie: `${SESSION_COOKIE}=${session}` },
      }),
    );
    await userQuery("{ viewer { id } }");

    const logText = logs.text;
    const responseText = responses.join("\n");
    // Sanity: the capture really holds the traffic (Canvas lines, access lines, masked errors).
    expect(logText).toContain('"msg":"Canvas request"');
    expect(logText).toContain('"msg":"graphql error"');
    expect(logText).toContain('"msg":"user logged in"');
    for (const [name, secret] of Object.entries(secrets)) {
      expect(secret.length, name).toBeGreaterThan(7);
      expect(logText.includes(secret), `${name} in logs`).toBe(false);
      expect(responseText.includes(secret), `${name} in responses`).toBe(false);
    }
  });
});
