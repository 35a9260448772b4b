import { createHash } from "node:crypto";
import { chmod, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { Fernet, generateKey } from "@easel/fernet";
import { createTokenStore } from "@easel/store-file";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { easel } from "./export-helpers.js";

let sim: CanvasSim;
let home: string;
const fernetKey = generateKey();
const DAY_MS = 86_400_000;
const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 29, courses: 1, studentsPerCourse: 3, throttle: false });
  home = await mkdtemp(join(tmpdir(), "easel-cli-lifecycle-"));
});
afterAll(async () => {
  await sim?.close();
  await rm(home, { recursive: true, force: true });
});

let storeCount = 0;
function freshStore(): { uri: string; env: Record<string, string> } {
  storeCount++;
  const uri = `file:${home}/store-${storeCount}/`;
  return { uri, env: { EASEL_FERNET_KEY: fernetKey, EASEL_TOKEN_STORE: uri, CANVAS_BASE_URL: sim.url } };
}

/** A personal token of the admin that expires `days` from now (real time: the simulator follows it). */
function tokenExpiringIn(days: number): string {
  return sim.admin.createDeveloperToken({ userId: 1, expiresAt: Date.now() + days * DAY_MS, purpose: "job" });
}

async function importToken(env: Record<string, string>, token: string) {
  return easel(["token", "import", "--access-token", token], env, home);
}

describe("easel token import looks a personal token's expiry up", () => {
  it("stores expires_at and the token id from Canvas; show prints days left", async () => {
    const { uri, env } = freshStore();
    const token = tokenExpiringIn(40);
    const imported = await importToken(env, token);
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toMatch(/expires \S+, in \d+ s \((39|40) days left\)/);
    expect(imported.stdout + imported.stderr).not.toContain(token);

    const store = await createTokenStore(uri, { fernetKeys: fernetKey });
    const record = (await store.get("default"))!;
    await store.close();
    expect(Math.abs((record.expires_at as number) * 1000 - (Date.now() + 40 * DAY_MS))).toBeLessThan(60_000);
    expect(typeof record.token_id).toBe("number");

    const shown = await easel(["token", "show", "--json"], env, home);
    expect(shown.status, shown.stderr).toBe(0);
    expect([39, 40]).toContain((JSON.parse(shown.stdout) as { days_left: number }).days_left);
  });

  it("exits 3 when Canvas does not accept the imported token (still pending)", async () => {
    const { env } = freshStore();
    const created = await fetch(`${sim.url}/api/v1/users/2/tokens`, {
      method: "POST",
      headers: { authorization: `Bearer ${sim.developerToken}` },
      body: new URLSearchParams({ "token[purpose]": "pending" }),
    });
    const pending = ((await created.json()) as { visible_token: string }).visible_token;
    const imported = await importToken(env, pending);
    expect(imported.status).toBe(3);
    expect(imported.stderr).toContain("Canvas does not accept the token");
  });
});

describe("easel token check", () => {
  it("exits 0 when valid beyond the window", async () => {
    const far = freshStore();
    await importToken(far.env, tokenExpiringIn(60));
    const ok = await easel(["token", "check"], far.env, home);
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^OK: .*expires .* \((59|60) days left\)/);
  });

  it("exits 1 within the window, saying when; the window is set by flag or env", async () => {
    const near = freshStore();
    const nearToken = tokenExpiringIn(10);
    await importToken(near.env, nearToken);
    const warning = await easel(["token", "check"], near.env, home);
    expect(warning.status).toBe(1);
    expect(warning.stderr).toMatch(
      /WARNING: .*expires \d{4}-\d\d-\d\dT.*\((9|10) days left\), within the 14-day window/,
    );
    // The window is configurable, by flag and by environment.
    expect((await easel(["token", "check", "--expiry-warning-days", "7"], near.env, home)).status).toBe(0);
    expect(
      (await easel(["token", "check"], { ...near.env, EASEL_EXPIRY_WARNING_DAYS: "5" }, home)).status,
    ).toBe(0);
  });

  it("exits 3 when Canvas says the token was revoked", async () => {
    const near = freshStore();
    const nearToken = tokenExpiringIn(10);
    await importToken(near.env, nearToken);
    sim.admin.revokeToken(nearToken);
    const revoked = await easel(["token", "check"], near.env, home);
    expect(revoked.status).toBe(3);
    expect(revoked.stderr).toContain("CRITICAL: Canvas no longer accepts the token");
  });

  it("exits 3 when expired (offline: from the stored expiry) or nothing is stored", async () => {
    // Offline (no Canvas URL): the stored expiry decides; past it is exit 3.
    const expired = freshStore();
    const expiring = tokenExpiringIn(1);
    await importToken(expired.env, expiring);
    const offline = { ...expired.env, CANVAS_BASE_URL: "" };
    expect((await easel(["token", "check"], offline, home)).status).toBe(1);
    sim.admin.expireToken(expiring);
    expect((await easel(["token", "check"], expired.env, home)).status).toBe(3);

    const missing = freshStore();
    expect((await easel(["token", "check"], missing.env, home)).status).toBe(3);
  });
});

describe("long-running commands warn once when the token expires soon", () => {
  it("export warns once on stderr with the date; a far expiry says nothing", async () => {
    const near = freshStore();
    await importToken(near.env, tokenExpiringIn(5));
    const out = join(home, "courses.ndjson");
    const exported = await easel(
      ["export", "courses", "--all-courses", "--format", "ndjson", "--out", out],
      near.env,
      home,
    );
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stderr.match(/warning: the Canvas token in "default" expires at/g)).toHaveLength(1);
    expect(exported.stderr).toMatch(/\((4|5) days left\)/);
    const quiet = await easel(
      [
        "export",
        "courses",
        "--all-courses",
        "--format",
        "ndjson",
        "--out",
        out,
        "--expiry-warning-days",
        "3",
      ],
      near.env,
      home,
    );
    expect(quiet.status, quiet.stderr).toBe(0);
    expect(quiet.stderr).not.toContain("expires at");
  });

  it("a bare CANVAS_ACCESS_TOKEN's expiry is asked of Canvas: warned once as well", async () => {
    const out = join(home, "courses-env.ndjson");
    const exported = await easel(
      ["export", "courses", "--all-courses", "--format", "ndjson", "--out", out],
      { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: tokenExpiringIn(2) },
      home,
    );
    expect(exported.status, exported.stderr).toBe(0);
    expect(
      exported.stderr.match(/warning: the Canvas token in CANVAS_ACCESS_TOKEN expires at/g),
    ).toHaveLength(1);
    const far = await easel(
      ["export", "courses", "--all-courses", "--format", "ndjson", "--out", out],
      { CANVAS_BASE_URL: sim.url, CANVAS_ACCESS_TOKEN: sim.developerToken },
      home,
    );
    expect(far.status, far.stderr).toBe(0);
    expect(far.stderr).not.toContain("warning");
  });
});

describe("easel token adopt (the Python manager's cache)", () => {
  it("reads it with TOKEN_ENCRYPTION_KEY (with a notice), fixes 0644 to 0600 after saying so, shows fingerprint and expiry", async () => {
    const path = join(home, "python-cache.enc");
    const token = tokenExpiringIn(30);
    const record = { access_token: token, token_type: "Bearer", expires_at: Date.now() / 1000 + 30 * 86_400 };
    // What the Python manager writes: the whole file is one Fernet token of the record's JSON.
    await writeFile(path, new Fernet(fernetKey).encrypt(Buffer.from(JSON.stringify(record))));
    await chmod(path, 0o644);
    const adopted = await easel(
      ["token", "adopt", "--store", `file:${path}`],
      { TOKEN_ENCRYPTION_KEY: fernetKey },
      home,
    );
    expect(adopted.status, adopted.stderr).toBe(0);
    expect(adopted.stderr).toContain("using TOKEN_ENCRYPTION_KEY");
    expect(adopted.stderr).toMatch(/has mode 0644.*Changing it to 0600/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(adopted.stdout).toContain("decrypts with the configured key");
    expect(adopted.stdout).toContain(`fingerprint ${sha12(token)}`);
    expect(adopted.stdout).toMatch(/expires \S+ \((29|30) days left\)/);
    expect(adopted.stdout + adopted.stderr).not.toContain(token);
    expect(adopted.stderr).not.toContain(fernetKey);

    // Both programs keep sharing it: the same file, the same key, any other command.
    const shown = await easel(
      ["token", "show", "--store", `file:${path}`],
      { TOKEN_ENCRYPTION_KEY: fernetKey },
      home,
    );
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain(sha12(token));
  });

  it("a wrong key fails with DECRYPT_FAILED and leaves the file as it was", async () => {
    const path = join(home, "python-cache-2.enc");
    const bytes = new Fernet(fernetKey).encrypt(
      Buffer.from(JSON.stringify({ access_token: "x".repeat(20), token_type: "Bearer" })),
    );
    await writeFile(path, bytes, { mode: 0o600 });
    const wrong = await easel(
      ["token", "adopt", "--store", `file:${path}`],
      { TOKEN_ENCRYPTION_KEY: generateKey() },
      home,
    );
    expect(wrong.status).toBe(1);
    expect(wrong.stderr).toContain("DECRYPT_FAILED");
    const { readFile } = await import("node:fs/promises");
    expect(await readFile(path, "utf8")).toBe(bytes);
  });
});
