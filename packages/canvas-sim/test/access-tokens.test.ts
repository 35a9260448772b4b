import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim } from "../src/index.js";
import { call, startSim, walk } from "./helpers.js";

type TokenJson = {
  id: number;
  purpose: string;
  expires_at: string | null;
  user_id: number;
  workflow_state: string;
  visible_token: string | null;
  can_manually_regenerate: boolean;
  app_name: string | null;
};

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim();
});
afterAll(() => sim.close());

const create = (form: Record<string, string>, token?: string, user = "self") =>
  call<TokenJson>(sim, `/api/v1/users/${user}/tokens`, { form, token });

describe("Access Tokens API", () => {
  it("creates a token: token[purpose] is required", async () => {
    const missing = await create({});
    expect(missing.status).toBe(400);
    expect(missing.body).toEqual([{ message: "token[purpose] is missing" }]);
    const created = await create({
      "token[purpose]": "nightly export",
      "token[expires_at]": "2027-01-01T00:00:00Z",
    });
    expect(created.status).toBe(200);
    expect(created.body).toMatchObject({
      purpose: "nightly export",
      expires_at: "2027-01-01T00:00:00Z",
      user_id: 1,
      workflow_state: "active",
      can_manually_regenerate: true,
    });
    expect(created.body.visible_token).toMatch(/^[A-Za-z0-9]{64}$/);
    expect((await call(sim, "/api/v1/users/self", { token: created.body.visible_token! })).status).toBe(200);
  });

  it("shows a token by id or by its 5-character hint, never the full string", async () => {
    const created = await create({ "token[purpose]": "show me" });
    const full = created.body.visible_token!;
    for (const ref of [String(created.body.id), full.slice(0, 5)]) {
      const shown = await call<TokenJson>(sim, `/api/v1/users/self/tokens/${ref}`);
      expect(shown.status).toBe(200);
      expect(shown.body.id).toBe(created.body.id);
      expect(shown.body.visible_token).toBe(`${full.slice(0, 5)}...`);
    }
  });

  it("token[regenerate]=1 returns a new visible token and the old string stops working", async () => {
    const created = await create({ "token[purpose]": "rotate me" });
    const old = created.body.visible_token!;
    const regenerated = await call<TokenJson>(sim, `/api/v1/users/self/tokens/${created.body.id}`, {
      method: "PUT",
      form: { "token[regenerate]": "1" },
    });
    expect(regenerated.status).toBe(200);
    expect(regenerated.body.id).toBe(created.body.id);
    expect(regenerated.body.visible_token).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(regenerated.body.visible_token).not.toBe(old);
    const stale = await call<{ errors: Array<{ message: string }> }>(sim, "/api/v1/users/self", {
      token: old,
    });
    expect(stale.status).toBe(401);
    expect(stale.headers.get("www-authenticate")).toBe('Bearer realm="canvas-lms"');
    expect((await call(sim, "/api/v1/users/self", { token: regenerated.body.visible_token! })).status).toBe(
      200,
    );
  });

  it("an expired token cannot be regenerated without a new expires_at", async () => {
    const created = await create({
      "token[purpose]": "short",
      "token[expires_at]": new Date(sim.now() + 1000).toISOString(),
    });
    sim.advanceClock(5);
    const refused = await call(sim, `/api/v1/users/self/tokens/${created.body.id}`, {
      method: "PUT",
      form: { "token[regenerate]": "1" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body).toEqual({
      errors: { message: "cannot regenerate an expired token without a new expiration date" },
    });
    const renewed = await call<TokenJson>(sim, `/api/v1/users/self/tokens/${created.body.id}`, {
      method: "PUT",
      form: { "token[regenerate]": "1", "token[expires_at]": new Date(sim.now() + 86_400_000).toISOString() },
    });
    expect(renewed.status).toBe(200);
    expect((await call(sim, "/api/v1/users/self", { token: renewed.body.visible_token! })).status).toBe(200);
  });

  it("DELETE soft-deletes: workflow_state deleted, and the token is revoked", async () => {
    const created = await create({ "token[purpose]": "delete me" });
    const deleted = await call<TokenJson>(sim, `/api/v1/users/self/tokens/${created.body.id}`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(200);
    expect(deleted.body.workflow_state).toBe("deleted");
    const after = await call<{ errors: Array<{ message: string }> }>(sim, "/api/v1/users/self", {
      token: created.body.visible_token!,
    });
    expect(after.body.errors[0]!.message).toBe("Revoked access token.");
    expect((await call(sim, `/api/v1/users/self/tokens/${created.body.id}`)).status).toBe(404);
  });

  it("a token the admin creates for another user is pending (unusable)", async () => {
    const student = sim.data.studentIds(1)[0]!;
    const created = await create({ "token[purpose]": "for a student" }, undefined, String(student));
    expect(created.body.workflow_state).toBe("pending");
    expect(created.body.user_id).toBe(student);
    expect((await call(sim, "/api/v1/users/self", { token: created.body.visible_token! })).status).toBe(401);
  });

  it("someone else's tokens are 404; students cannot create tokens for others", async () => {
    const student = sim.data.studentIds(1)[1]!;
    const studentToken = sim.admin.createDeveloperToken({ userId: student });
    const adminToken = await create({ "token[purpose]": "admin's" });
    expect(
      (await call(sim, `/api/v1/users/1/tokens/${adminToken.body.id}`, { token: studentToken })).status,
    ).toBe(404);
    expect((await create({ "token[purpose]": "x" }, studentToken, "1")).status).toBe(403);
  });

  it("OAuth tokens show visible_token null and cannot be regenerated", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const shown = await call<TokenJson>(sim, `/api/v1/users/self/tokens/${minted.access_token.slice(0, 5)}`);
    expect(shown.body.visible_token).toBeNull();
    expect(shown.body.app_name).toBe("Easel");
    const refused = await call(sim, `/api/v1/users/self/tokens/${shown.body.id}`, {
      method: "PUT",
      form: { "token[regenerate]": "1" },
    });
    expect(refused.status).toBe(403);
  });

  it("lists user-generated tokens with bookmark pages", async () => {
    const fresh = await startSim();
    try {
      for (let i = 0; i < 4; i++) {
        await call(fresh, "/api/v1/users/self/tokens", { form: { "token[purpose]": `t${i}` } });
      }
      const { rows, pages } = await walk<TokenJson>(
        fresh,
        "/api/v1/users/self/user_generated_tokens?per_page=2",
      );
      expect(rows.map((row) => row.purpose)).toEqual(["easel simulator", "t0", "t1", "t2", "t3"]);
      expect(pages).toBe(3);
    } finally {
      await fresh.close();
    }
  });
});

describe("request bodies", () => {
  it("accepts multipart/form-data (curl -F), as Canvas's docs use", async () => {
    const body = new FormData();
    body.append("token[purpose]", "from curl -F");
    body.append("token[expires_at]", "2027-03-01T00:00:00Z");
    const response = await fetch(`${sim.url}/api/v1/users/self/tokens`, {
      method: "POST",
      headers: { Authorization: `Bearer ${sim.developerToken}` },
      body,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      purpose: "from curl -F",
      expires_at: "2027-03-01T00:00:00Z",
    });
  });
});
