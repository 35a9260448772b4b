import * as auth from "@easel/auth";
import type { CanvasSim } from "@easel/canvas-sim";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CanvasClient, REAUTH_REQUIRED, staticTokenProvider } from "../src/index.js";
import { startSim } from "./helpers/sim.js";

describe("staticTokenProvider", () => {
  let sim: CanvasSim;
  beforeAll(async () => {
    sim = await startSim({ courses: 1, studentsPerCourse: 3 });
  });
  afterAll(async () => {
    await sim.close();
  });

  it("is @easel/auth's one implementation, re-exported", () => {
    expect(staticTokenProvider).toBe(auth.staticTokenProvider);
  });

  it("trims a pasted token (spaces, newline) before Canvas sees it", async () => {
    const provider = staticTokenProvider(`  ${sim.developerToken}\n`);
    expect(await provider.getAccessToken()).toBe(sim.developerToken);
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: provider });
    try {
      expect((await canvas.users.self()).id).toBe(sim.data.adminUserId);
    } finally {
      await canvas.close();
    }
  });

  it("refuses an empty or blank token with ERR_INVALID_ARG_VALUE, naming no token", () => {
    for (const blank of ["", "   \n"]) {
      expect(() => staticTokenProvider(blank)).toThrow(
        expect.objectContaining({ name: "TypeError", code: "ERR_INVALID_ARG_VALUE" }),
      );
    }
  });

  it("turns a 401 for a revoked token into REAUTH_REQUIRED, no retry with the same token", async () => {
    const token = sim.admin.createDeveloperToken({ userId: sim.data.adminUserId, purpose: "revoked" });
    const canvas = new CanvasClient({ baseUrl: sim.url, auth: staticTokenProvider(` ${token} `) });
    try {
      expect((await canvas.users.self()).id).toBe(sim.data.adminUserId);
      sim.admin.revokeToken(token);
      const error = await canvas.users.self().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(error).toBeInstanceOf(auth.ReauthorizationRequiredError);
      expect((error as auth.ReauthorizationRequiredError).code).toBe(REAUTH_REQUIRED);
      expect(String((error as Error).message)).not.toContain(token);
    } finally {
      await canvas.close();
    }
  });
});
