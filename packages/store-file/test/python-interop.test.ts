import { chmodSync, copyFileSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Fernet, generateKey } from "@easel/fernet";
import { pythonUnavailable, runPython, tempDir, VECTORS } from "@easel/test-utils";
import type { TokenRecord } from "@easel/token-store";
import { pythonJsonDumps } from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { createTokenStore, FileTokenStore } from "../src/index.js";

interface CacheCase {
  file: string;
  keys: string[];
  plaintext_json?: string;
  payload?: TokenRecord;
}
const cases = (
  JSON.parse(readFileSync(new URL("token-cache/cases.json", VECTORS), "utf8")) as CacheCase[]
).filter((c) => c.payload);

/** What the Python manager this store replaces does: one Fernet token of json.dumps(record). */
const PY_WRITE = `
import json, os, sys
from cryptography.fernet import Fernet
record = json.loads(sys.stdin.read())
with open(os.open(os.environ["CACHE"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
    f.write(Fernet(os.environ["KEY"]).encrypt(json.dumps(record).encode()))
`;
const PY_READ = `
import json, os, sys
from cryptography.fernet import Fernet
plaintext = Fernet(os.environ["KEY"]).decrypt(open(os.environ["CACHE"], "rb").read())
record = json.loads(plaintext)
sys.stdout.write(json.dumps({"record": record, "same_bytes_as_python": plaintext == json.dumps(record).encode()}))
`;

const record: TokenRecord = {
  access_token: "7~interop-access",
  token_type: "Bearer",
  refresh_token: "7~interop-refresh",
  expires_at: 1795000000.123456,
  expires_in: 3600,
  scope: "url:GET|/api/v1/courses url:GET|/api/v1/users",
  user: { id: 42, name: 'Zoë "Ñúñez" 山田 🎓\\/\t', global_id: "10000000000042", effective_locale: "en" },
  canvas_region: "us-east-1",
  nested: { list: [1, 2.5, null, true, { deep: "\u007f\u0000" }], empty: {}, none: [] },
};

describe("Python-written vectors", () => {
  it.each(cases.map((c) => [c.file, c] as const))("the store reads %s as its payload", async (_file, c) => {
    const path = join(tempDir(), c.file);
    copyFileSync(new URL(`token-cache/${c.file}`, VECTORS), path);
    chmodSync(path, 0o600);
    const store = await createTokenStore(`file:${path}`, { fernetKeys: c.keys.join(",") });
    expect(await store.get("default")).toEqual(c.payload);
  });

  it("writes the same JSON bytes Python's json.dumps wrote (Python's 3600.0 aside)", () => {
    for (const c of cases) {
      expect(pythonJsonDumps(JSON.parse(c.plaintext_json!))).toBe(
        c.plaintext_json!.replace(/(\d)\.0\b/g, "$1"),
      );
    }
  });

  it("a record read with the old key is rewritten under the first key on the next write", async () => {
    const c = cases.find((x) => x.file === "rotated-old-key.enc")!;
    const [newKey, oldKey] = c.keys as [string, string];
    const path = join(tempDir(), "cache.enc");
    copyFileSync(new URL("token-cache/rotated-old-key.enc", VECTORS), path);
    chmodSync(path, 0o600);
    expect(() => new Fernet(newKey).decrypt(readFileSync(path, "latin1"))).toThrow();
    const store = new FileTokenStore({ path, fernetKeys: `${newKey},${oldKey}` });
    const read = await store.get("default");
    await store.set("default", read!);
    expect(JSON.parse(new Fernet(newKey).decrypt(readFileSync(path, "latin1")).toString())).toEqual(
      c.payload,
    );
  });
});

describe.skipIf(pythonUnavailable("cryptography.fernet") !== undefined)(
  "a cache shared with a Python job",
  () => {
    const key = generateKey();

    it("the store reads what Python's cryptography wrote", async () => {
      const path = join(tempDir(), "python.enc");
      runPython(PY_WRITE, { env: { KEY: key, CACHE: path }, input: JSON.stringify(record) });
      expect(await new FileTokenStore({ path, fernetKeys: key }).get("default")).toEqual(record);
    });

    it("Python reads what the store wrote, with byte-identical json.dumps output", async () => {
      const path = join(tempDir(), "easel.enc");
      await new FileTokenStore({ path, fernetKeys: key }).set("default", record);
      const out = JSON.parse(runPython(PY_READ, { env: { KEY: key, CACHE: path } })) as {
        record: TokenRecord;
        same_bytes_as_python: boolean;
      };
      expect(out.record).toEqual(record);
      expect(out.same_bytes_as_python).toBe(true);
    });

    it("Python reads a per-key file of a file:DIR/ store", async () => {
      const dir = tempDir();
      const store = await createTokenStore(`file:${dir}/`, { fernetKeys: key });
      await store.set("tenant:42/robot", record);
      const path = (store as FileTokenStore).pathFor("tenant:42/robot");
      expect(path.startsWith(dir)).toBe(true);
      const out = JSON.parse(runPython(PY_READ, { env: { KEY: key, CACHE: path } })) as {
        record: TokenRecord;
      };
      expect(out.record).toEqual(record);
    });

    it("a Python round trip through the store and back keeps every field", async () => {
      const path = join(tempDir(), "both.enc");
      runPython(PY_WRITE, { env: { KEY: key, CACHE: path }, input: JSON.stringify(record) });
      const store = new FileTokenStore({ path, fernetKeys: key });
      await store.set("default", { ...(await store.get("default"))!, access_token: "7~rotated" });
      const out = JSON.parse(runPython(PY_READ, { env: { KEY: key, CACHE: path } })) as {
        record: TokenRecord;
      };
      expect(out.record).toEqual({ ...record, access_token: "7~rotated" });
    });
  },
);
