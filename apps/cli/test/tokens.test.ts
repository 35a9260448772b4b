import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel } from "./export-helpers.js";

type TokenJson = {
  id: number;
  user_id: number;
  purpose: string;
  expires_at: string | null;
  workflow_state: string;
  visible_token: string | null;
  scopes: string[] | null;
  pending_action?: string;
};

let sim: CanvasSim;
let home: string;
const fernetKey = generateKey();
/** A second admin (user 2), so the tests show admins other than user 1 at work. */
let adminToken: string;
let studentId: number;
const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 23, courses: 1, studentsPerCourse: 3, throttle: false, admins: [2] });
  adminToken = sim.admin.createDeveloperToken({ userId: 2, purpose: "operator" });
  studentId = sim.data.students(1)[0]!.id;
  home = await mkdtemp(join(tmpdir(), "easel-cli-tokens-"));
});
afterAll(async () => {
  await sim?.close();
  await rm(home, { recursive: true, force: true });
});

function env(token = adminToken): Record<string, string> {
  return { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: token, EASEL_FERNET_KEY: fernetKey };
}

async function run(args: string[], token?: string) {
  return easel(["tokens", ...args], env(token), home);
}

async function json<T>(args: string[], token?: string): Promise<T> {
  const result = await run([...args, "--json"], token);
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as T;
}

describe("easel tokens create, show, list, update, delete", () => {
  it("create requires a purpose (exit 2) and takes --expires-in and --scope", async () => {
    const missing = await run(["create"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain("--purpose is required");

    const before = Date.now();
    const created = await json<TokenJson>([
      "create",
      "--purpose",
      "nightly export",
      "--expires-in",
      "90d",
      "--scope",
      "url:GET|/api/v1/courses",
    ]);
    expect(created).toMatchObject({ user_id: 2, purpose: "nightly export", workflow_state: "active" });
    expect(created.scopes).toEqual(["url:GET|/api/v1/courses"]);
    const expires = Date.parse(created.expires_at!);
    expect(expires - before).toBeGreaterThan(90 * 86_400_000 - 5_000);
    expect(expires - before).toBeLessThan(90 * 86_400_000 + 60_000);
    // Shown this once, in full: it works.
    expect(created.visible_token).toMatch(/^[A-Za-z0-9]{64}$/);
    // Scoped to the courses list (the simulator enforces scopes).
    const courses = await fetch(`${sim.url}/api/v1/courses`, {
      headers: { authorization: `Bearer ${created.visible_token}` },
    });
    expect(courses.status).toBe(200);
  });

  it("show by id and by hint, list in text and JSON, without full tokens", async () => {
    const created = await json<TokenJson>([
      "create",
      "--purpose",
      "listed",
      "--expires-at",
      "2030-01-01T00:00:00Z",
    ]);
    const full = created.visible_token!;
    for (const ref of [String(created.id), full.slice(0, 5)]) {
      const shown = await run(["show", ref]);
      expect(shown.status, shown.stderr).toBe(0);
      expect(shown.stdout).toMatch(new RegExp(`Id: +${created.id}`));
      expect(shown.stdout).toContain("2030-01-01T00:00:00Z");
      expect(shown.stdout).toContain(`${full.slice(0, 5)}...`);
      expect(shown.stdout).not.toContain(full);
    }
    const listed = await run(["list"]);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout).toMatch(/^ID +HINT +STATE +EXPIRES +LAST USED +PURPOSE/);
    expect(listed.stdout).toMatch(
      new RegExp(`${created.id} +${full.slice(0, 5)} +active +2030-01-01T00:00:00Z`),
    );
    expect(listed.stdout).not.toContain(full);
    const list = await json<TokenJson[]>(["list"]);
    expect(list.map((token) => token.id)).toContain(created.id);
    expect(JSON.stringify(list)).not.toContain(full);
  });

  it("update changes purpose and expiry; delete makes the token stop working", async () => {
    const created = await json<TokenJson>(["create", "--purpose", "to change"]);
    const nothing = await run(["update", String(created.id)]);
    expect(nothing.status).toBe(2);
    const updated = await json<TokenJson>([
      "update",
      String(created.id),
      "--purpose",
      "changed",
      "--expires-at",
      "2031-02-03T04:05:06Z",
    ]);
    expect(updated).toMatchObject({ id: created.id, purpose: "changed", expires_at: "2031-02-03T04:05:06Z" });

    const deleted = await run(["delete", String(created.id)]);
    expect(deleted.status, deleted.stderr).toBe(0);
    expect(deleted.stdout).toContain(`Deleted token ${created.id}`);
    expect(deleted.stdout).toMatch(/State: +deleted/);
    const refused = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${created.visible_token}` },
    });
    expect(refused.status).toBe(401);
    const gone = await run(["show", String(created.id)]);
    expect(gone.status).toBe(1);
    expect(gone.stderr).toContain("CANVAS_NOT_FOUND");
  });

  it("update --regenerate --into-store writes the new token into the store, never to the terminal", async () => {
    const created = await json<TokenJson>(["create", "--purpose", "robot", "--expires-in", "30d"]);
    const storeDir = join(home, "robot-store");
    const result = await run([
      "update",
      String(created.id),
      "--regenerate",
      "--expires-in",
      "60d",
      "--into-store",
      `file:${storeDir}/`,
      "--into-key",
      "robot",
    ]);
    expect(result.status, result.stderr).toBe(0);
    const store = await createTokenStore(`file:${storeDir}/`, { fernetKeys: fernetKey });
    const record = (await store.get("robot"))!;
    await store.close();
    expect(record.access_token).toMatch(/^[A-Za-z0-9]{64}$/);
    expect(record.access_token).not.toBe(created.visible_token);
    expect(record).toMatchObject({ token_type: "Bearer", token_id: created.id, user: { id: 2 } });
    expect((record.expires_at as number) * 1000 - Date.now()).toBeGreaterThan(59 * 86_400_000);
    // The terminal saw a fingerprint and the hint only.
    expect(result.stdout + result.stderr).not.toContain(record.access_token);
    expect(result.stdout).toContain(`Stored under key "robot"`);
    expect(result.stdout).toContain(sha12(record.access_token));
    expect(result.stdout).toContain(`${record.access_token.slice(0, 5)}...`);
    // The new one works, the old one no longer does.
    const works = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${record.access_token}` },
    });
    expect(works.status).toBe(200);
    const old = await fetch(`${sim.url}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${created.visible_token}` },
    });
    expect(old.status).toBe(401);

    const withoutRegenerate = await run([
      "update",
      String(created.id),
      "--purpose",
      "x",
      "--into-store",
      "memory:",
    ]);
    expect(withoutRegenerate.status).toBe(2);
  });
});

describe("easel tokens --user (admins)", () => {
  it("a token an admin creates for another user is shown as pending, with what the user must do", async () => {
    const created = await run(["create", "--user", String(studentId), "--purpose", "grades robot"]);
    expect(created.status, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/State: +pending/);
    expect(created.stdout).toContain(`Pending: user ${studentId} must accept the token in Canvas`);
    const id = Number(/Id: +(\d+)/.exec(created.stdout)![1]);

    const listed = await json<TokenJson[]>(["list", "--user", String(studentId)]);
    const pending = listed.find((token) => token.id === id)!;
    expect(pending.workflow_state).toBe("pending");
    expect(pending.pending_action).toContain("must accept the token");
    const text = await run(["list", "--user", String(studentId)]);
    expect(text.stdout).toMatch(new RegExp(`${id} +\\w{5} +pending`));
    expect(text.stdout).toContain("Pending: user");

    // Once the user accepts it (the simulator's control call), it is active.
    expect(sim.admin.activateToken(id)).toBe("activated");
    const shown = await json<TokenJson>(["show", String(id), "--user", String(studentId)]);
    expect(shown.workflow_state).toBe("active");
    expect(shown.pending_action).toBeUndefined();
  });

  it("a user who is not an admin is refused (exit 1, Canvas's 403)", async () => {
    const studentToken = sim.admin.createDeveloperToken({ userId: studentId });
    const other = sim.data.students(1)[1]!.id;
    const refused = await run(["list", "--user", String(other)], studentToken);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain("CANVAS_FORBIDDEN");
    expect(refused.stderr).not.toContain(studentToken);
  });
});
