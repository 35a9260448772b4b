import { createHash } from "node:crypto";
import { chmodSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { generateKey } from "@easel/fernet";
import { pythonUnavailable, runPython, tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { easel } from "./cli-helpers.js";

const ACCESS = "7~CliAccessToken0123456789abcdefghijklmnopqrstuvwxyzABCDEF";
const REFRESH = "7~CliRefreshToken0123456789abcdefghijklmnopqrstuvwxyzABCD";
const sha12 = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 12);

const record = {
  access_token: ACCESS,
  token_type: "Bearer",
  refresh_token: REFRESH,
  expires_at: Date.now() / 1000 + 1800,
  expires_in: 3600,
  scope: "url:GET|/api/v1/courses",
  user: { id: 42, name: "Sync Robot", global_id: "10000000000042" },
  canvas_region: "us-east-1",
  tenant: "t1",
};

function fileStore(): { env: Record<string, string>; dir: string } {
  const dir = tempDir();
  return { dir, env: { EASEL_FERNET_KEY: generateKey(), EASEL_TOKEN_STORE: `file:${dir}/` } };
}

function noSecrets(...outputs: { stdout: string; stderr: string }[]): void {
  for (const { stdout, stderr } of outputs) {
    for (const secret of [ACCESS, REFRESH]) {
      expect(stdout).not.toContain(secret);
      expect(stderr).not.toContain(secret);
    }
  }
}

describe("easel token import, then show", () => {
  it("stores a JSON record from stdin and shows it without any secret", () => {
    const { env } = fileStore();
    const imported = easel(["token", "import"], env, JSON.stringify(record));
    expect(imported.status, imported.stderr).toBe(0);
    expect(imported.stdout).toContain(sha12(ACCESS));

    const shown = easel(["token", "show"], env);
    expect(shown.status, shown.stderr).toBe(0);
    expect(shown.stdout).toContain("Bearer");
    expect(shown.stdout).toContain(`fingerprint ${sha12(ACCESS)}`);
    expect(shown.stdout).toMatch(/Refresh token: +present/);
    expect(shown.stdout).toContain(new Date(record.expires_at * 1000).toISOString());
    expect(shown.stdout).toMatch(/in 1[78]\d\d s/);
    expect(shown.stdout).toContain("42 (Sync Robot)");
    expect(shown.stdout).toContain("url:GET|/api/v1/courses");
    expect(shown.stdout).toMatch(/Extra fields: +canvas_region, tenant/);
    noSecrets(imported, shown);

    const json = easel(["token", "show", "--json"], env);
    expect(json.status).toBe(0);
    const summary = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(summary).toMatchObject({
      key: "default",
      token_type: "Bearer",
      access_token_fingerprint: sha12(ACCESS),
      refresh_token_present: true,
      expires_at: record.expires_at,
      user: { id: 42, name: "Sync Robot" },
      scope: record.scope,
      extra_fields: ["canvas_region", "tenant"],
    });
    expect(Math.abs(Number(summary.expires_in_seconds) - 1800)).toBeLessThan(30);
    noSecrets(json);
  });

  it("stores a record from --access-token/--refresh-token/--expires-in under --key", () => {
    const { env } = fileStore();
    const imported = easel(
      [
        "token",
        "import",
        "--key",
        "robot",
        "--access-token",
        ACCESS,
        "--refresh-token",
        REFRESH,
        "--expires-in",
        "3600",
      ],
      env,
    );
    expect(imported.status, imported.stderr).toBe(0);
    const summary = JSON.parse(easel(["token", "show", "--json", "--key", "robot"], env).stdout);
    expect(summary.refresh_token_present).toBe(true);
    expect(summary.expires_in_seconds).toBeGreaterThan(3500);
    expect(summary.access_token_fingerprint).toBe(sha12(ACCESS));
    expect(easel(["token", "show"], env).status).toBe(1); // the "default" key holds nothing
    noSecrets(imported);
  });

  it("reports an expired token as expired N s ago", () => {
    const { env } = fileStore();
    easel(["token", "import"], env, JSON.stringify({ ...record, expires_at: Date.now() / 1000 - 120 }));
    expect(easel(["token", "show"], env).stdout).toMatch(/expired .*, 1[12]\d s ago/);
  });

  it("fills expires_at from expires_in (a token endpoint reply) and token_type when missing", () => {
    const { env } = fileStore();
    const reply = {
      access_token: ACCESS,
      refresh_token: REFRESH,
      expires_in: 3600,
      user: { id: 1, name: "x" },
    };
    expect(easel(["token", "import"], env, JSON.stringify(reply)).status).toBe(0);
    const summary = JSON.parse(easel(["token", "show", "--json"], env).stdout);
    expect(summary.token_type).toBe("Bearer");
    expect(summary.expires_in_seconds).toBeGreaterThan(3500);
  });

  it("uses the per-user default store under XDG_CONFIG_HOME, with 0700 dirs and 0600 files", () => {
    const config = tempDir();
    const env = { EASEL_FERNET_KEY: generateKey(), XDG_CONFIG_HOME: config };
    expect(easel(["token", "import"], env, JSON.stringify(record)).status).toBe(0);
    const dir = join(config, "easel", "tokens");
    const [file] = readdirSync(dir);
    expect(file).toMatch(/^default\.[0-9a-f]{24}\.enc$/);
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, file!)).mode & 0o777).toBe(0o600);
    expect(easel(["token", "show"], env).status).toBe(0);
  });

  it("falls back to ~/.config/easel/tokens/ without XDG_CONFIG_HOME", () => {
    const home = tempDir();
    const env = { EASEL_FERNET_KEY: generateKey(), HOME: home };
    expect(easel(["token", "import"], env, JSON.stringify(record)).status).toBe(0);
    expect(readdirSync(join(home, ".config", "easel", "tokens"))).toHaveLength(1);
  });
});

describe("easel token: failures and exit codes", () => {
  it("show of a missing record says how to store one (exit 1)", () => {
    const { env } = fileStore();
    const shown = easel(["token", "show"], env);
    expect(shown.status).toBe(1);
    expect(shown.stderr).toContain('No token record "default"');
    expect(shown.stderr).toContain("easel token import");
  });

  it("a file store without EASEL_FERNET_KEY says to run `easel key generate` (exit 2)", () => {
    const dir = tempDir();
    for (const args of [
      ["token", "show"],
      ["token", "import"],
    ]) {
      const result = easel(args, { EASEL_TOKEN_STORE: `file:${dir}/` }, JSON.stringify(record));
      expect(result.status).toBe(2);
      expect(result.stderr).toContain("EASEL_FERNET_KEY");
      expect(result.stderr).toContain("easel key generate");
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("import refuses input that is not JSON or not a record, without echoing it (exit 2)", () => {
    const { env, dir } = fileStore();
    for (const input of [
      `not json ${ACCESS}`,
      JSON.stringify({ token_type: "Bearer", refresh_token: REFRESH }),
      "",
    ]) {
      const result = easel(["token", "import"], env, input);
      expect(result.status).toBe(2);
      noSecrets(result);
    }
    expect(readdirSync(dir)).toEqual([]);
  });

  it("a record written with another key: DECRYPT_FAILED (exit 1), file untouched, import does not overwrite it", () => {
    const { env, dir } = fileStore();
    easel(["token", "import"], env, JSON.stringify(record));
    const [file] = readdirSync(dir);
    const before = readFileSync(join(dir, file!));
    const wrong = { ...env, EASEL_FERNET_KEY: generateKey() };
    const shown = easel(["token", "show"], wrong);
    expect(shown.status).toBe(1);
    expect(shown.stderr).toContain("DECRYPT_FAILED");
    const overwrite = easel(["token", "import", "--access-token", "other"], wrong);
    expect(overwrite.status).toBe(1);
    expect(overwrite.stderr).toContain("DECRYPT_FAILED");
    expect(overwrite.stderr).toContain("The file was left untouched");
    expect(readFileSync(join(dir, file!)).equals(before)).toBe(true);
    noSecrets(shown, overwrite);
  });

  it("a cache readable by others is refused with the chmod fix (exit 1)", () => {
    const { env, dir } = fileStore();
    easel(["token", "import"], env, JSON.stringify(record));
    const path = join(dir, readdirSync(dir)[0]!);
    chmodSync(path, 0o644);
    const shown = easel(["token", "show"], env);
    expect(shown.status).toBe(1);
    expect(shown.stderr).toContain(`chmod 600 ${path}`);
  });

  it("an unknown store scheme is a usage error listing the accepted forms (exit 2)", () => {
    const result = easel(["token", "show", "--store", "ftp://example.invalid/x"], {
      EASEL_FERNET_KEY: generateKey(),
    });
    expect(result.status).toBe(2);
    expect(result.stderr).toContain("file:DIR/");
  });
});

describe("easel token export", () => {
  it("refuses without --reveal (exit 2), explaining why, and prints nothing on stdout", () => {
    const { env } = fileStore();
    easel(["token", "import"], env, JSON.stringify(record));
    const refused = easel(["token", "export"], env);
    expect(refused.status).toBe(2);
    expect(refused.stdout).toBe("");
    expect(refused.stderr).toContain("--reveal");
    expect(refused.stderr).toContain("easel token show");
    noSecrets(refused);
  });

  it("with --reveal prints the record JSON, which imports back unchanged", () => {
    const { env } = fileStore();
    easel(["token", "import"], env, JSON.stringify(record));
    const exported = easel(["token", "export", "--reveal"], env);
    expect(exported.status).toBe(0);
    expect(JSON.parse(exported.stdout)).toEqual(record);
    const other = fileStore();
    expect(easel(["token", "import"], other.env, exported.stdout).status).toBe(0);
    expect(JSON.parse(easel(["token", "export", "--reveal"], other.env).stdout)).toEqual(record);
  });

  it("of a missing record exits 1", () => {
    expect(easel(["token", "export", "--reveal"], fileStore().env).status).toBe(1);
  });
});

describe("--help", () => {
  it.each([
    ["token", "show"],
    ["token", "import"],
    ["token", "export"],
    ["key", "generate"],
  ])("easel %s %s --help shows an example", (...words) => {
    const help = easel([...words, "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Example:");
    expect(help.stdout).toContain(`$ easel ${words.join(" ")}`);
  });
});

const PY_WRITE = `
import json, os, sys
from cryptography.fernet import Fernet
with open(os.open(os.environ["CACHE"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
    f.write(Fernet(os.environ["KEY"]).encrypt(json.dumps(json.loads(sys.stdin.read())).encode()))
`;
const PY_READ = `
import json, os, sys
from cryptography.fernet import Fernet
sys.stdout.write(Fernet(os.environ["KEY"]).decrypt(open(os.environ["CACHE"], "rb").read()).decode())
`;

const noPython = pythonUnavailable("cryptography.fernet");

describe.skipIf(noPython !== undefined)("a cache shared with Python's cryptography", () => {
  it("`easel token show` reads a cache written by Python", () => {
    const key = generateKey();
    const cache = join(tempDir(), "canvas_token.enc");
    runPython(PY_WRITE, { env: { KEY: key, CACHE: cache }, input: JSON.stringify(record) });
    const shown = easel(["token", "show", "--json", "--store", `file:${cache}`], { EASEL_FERNET_KEY: key });
    expect(shown.status, shown.stderr).toBe(0);
    expect(JSON.parse(shown.stdout)).toMatchObject({
      access_token_fingerprint: sha12(ACCESS),
      refresh_token_present: true,
      extra_fields: ["canvas_region", "tenant"],
    });
    noSecrets(shown);
  });

  it("Python reads a cache written by `easel token import`, as Python's json.dumps would write it", () => {
    const key = generateKey();
    const cache = join(tempDir(), "canvas_token.enc");
    const imported = easel(
      ["token", "import", "--store", `file:${cache}`],
      { EASEL_FERNET_KEY: key },
      JSON.stringify(record),
    );
    expect(imported.status, imported.stderr).toBe(0);
    const plaintext = runPython(PY_READ, { env: { KEY: key, CACHE: cache } });
    expect(JSON.parse(plaintext)).toEqual(record);
    const pythonStyle = runPython(
      "import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read())))",
      { input: plaintext },
    );
    expect(plaintext).toBe(pythonStyle);
  });
});
