import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim } from "../src/index.js";
import { call, startSim } from "./helpers.js";

type TokenJson = { id: number; user_id: number; workflow_state: string; visible_token: string | null };

let sim: CanvasSim;
/** Two functional users: 2 is made an admin by option, 3 by the control plane. */
let secondAdmin: string;
let thirdAdmin: string;
beforeAll(async () => {
  sim = await startSim({ admins: [2] });
  secondAdmin = sim.admin.createDeveloperToken({ userId: 2 });
  const made = await fetch(`${sim.url}/__sim/admins`, {
    method: "POST",
    body: new URLSearchParams({ user_id: "3" }),
  });
  expect(((await made.json()) as { admins: number[] }).admins).toEqual([1, 2, 3]);
  thirdAdmin = sim.admin.createDeveloperToken({ userId: 3 });
});
afterAll(() => sim.close());

describe("more than one admin", () => {
  it("each admin may read another user and create a token for them", async () => {
    const student = sim.data.students(1)[0]!.id;
    for (const token of [secondAdmin, thirdAdmin]) {
      expect((await call(sim, `/api/v1/users/${student}`, { token })).status).toBe(200);
      const created = await call<TokenJson>(sim, `/api/v1/users/${student}/tokens`, {
        token,
        form: { "token[purpose]": "for a student" },
      });
      expect(created.status).toBe(200);
      expect(created.body).toMatchObject({ user_id: student, workflow_state: "pending" });
    }
  });

  it("a user who is not an admin still may not", async () => {
    const [first, second] = sim.data.students(1);
    const token = sim.admin.createDeveloperToken({ userId: first!.id });
    const refused = await call(sim, `/api/v1/users/${second!.id}/tokens`, {
      token,
      form: { "token[purpose]": "x" },
    });
    expect(refused.status).toBe(403);
  });
});

describe("pending tokens", () => {
  it("stay unusable until the user accepts them, then work", async () => {
    const student = sim.data.students(2)[0]!.id;
    const created = await call<TokenJson>(sim, `/api/v1/users/${student}/tokens`, {
      token: secondAdmin,
      form: { "token[purpose]": "pending until accepted" },
    });
    const pending = created.body.visible_token!;
    const before = await call(sim, "/api/v1/users/self", { token: pending });
    expect(before.status).toBe(401);
    expect(before.headers.get("www-authenticate")).toBeTruthy();

    const accept = async () =>
      (await (
        await fetch(`${sim.url}/__sim/tokens/activate`, {
          method: "POST",
          body: new URLSearchParams({ id: String(created.body.id) }),
        })
      ).json()) as { result: string };
    expect(await accept()).toEqual({ result: "activated" });
    expect((await call(sim, "/api/v1/users/self", { token: pending })).status).toBe(200);
    const shown = await call<TokenJson>(sim, `/api/v1/users/${student}/tokens/${created.body.id}`, {
      token: secondAdmin,
    });
    expect(shown.body.workflow_state).toBe("active");
    expect(await accept()).toEqual({ result: "not-pending" });
    expect(sim.admin.activateToken(999_999)).toBe("not-found");
  });
});

describe("the clock", () => {
  it("follows the wall clock by default, while data keep their fixed epoch", async () => {
    const before = Date.now();
    const fresh = await startSim();
    try {
      expect(fresh.now()).toBeGreaterThanOrEqual(before);
      expect(fresh.now()).toBeLessThanOrEqual(Date.now() + 1);
      // A manual token that expires in an hour of real time is not already expired to the simulator.
      const token = fresh.admin.createDeveloperToken({ userId: 1, expiresAt: Date.now() + 3_600_000 });
      expect((await call(fresh, "/api/v1/users/self", { token })).status).toBe(200);
      const pinned = await startSim({ dataEpoch: Date.UTC(2026, 9, 15, 12) });
      try {
        // Everything but the server's own URL (its port) is the same.
        const withoutUrls = (sim: CanvasSim) =>
          JSON.parse(JSON.stringify(sim.data.course(1)).replaceAll(sim.url, "")) as unknown;
        expect(withoutUrls(fresh)).toEqual(withoutUrls(pinned));
        expect(fresh.data.course(1)!.created_at).toBe("2026-07-25T00:00:00Z");
      } finally {
        await pinned.close();
      }
    } finally {
      await fresh.close();
    }
  });
});
