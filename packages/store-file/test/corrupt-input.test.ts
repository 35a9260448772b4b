import { chmodSync, copyFileSync, mkdirSync, readFileSync, truncateSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Fernet, generateKey } from "@easel/fernet";
import { tempDir, VECTORS } from "@easel/test-utils";
import {
  CORRUPT_RECORD,
  CorruptRecordError,
  DECRYPT_FAILED,
  DecryptFailedError,
  STORE_UNAVAILABLE,
  StoreUnavailableError,
  type TokenRecord,
} from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { createTokenStore, FileTokenStore } from "../src/index.js";
import { snapshot } from "./helpers.js";

const SECRET = "7~corrupt-input-secret-access-token";
const record: TokenRecord = { access_token: SECRET, token_type: "Bearer", refresh_token: "7~refresh-secret" };
const key = generateKey();

interface BadInput {
  name: string;
  code: string;
  errorClass: new (...args: never[]) => Error;
  /** Turns a valid record file into the bad input. */
  spoil: (path: string) => void;
  /** Opens the store that reads it (default: the right key). */
  keys?: string;
}

const badInputs: BadInput[] = [
  {
    name: "wrong key",
    code: DECRYPT_FAILED,
    errorClass: DecryptFailedError,
    spoil: () => undefined,
    keys: generateKey(),
  },
  {
    name: "tampered bytes",
    code: DECRYPT_FAILED,
    errorClass: DecryptFailedError,
    spoil: (path) => {
      const text = readFileSync(path, "latin1");
      const at = Math.floor(text.length / 2);
      writeFileSync(path, text.slice(0, at) + (text[at] === "A" ? "B" : "A") + text.slice(at + 1));
    },
  },
  {
    name: "truncated file",
    code: DECRYPT_FAILED,
    errorClass: DecryptFailedError,
    spoil: (path) => truncateSync(path, Math.floor(readFileSync(path).length / 2)),
  },
  {
    name: "empty file",
    code: DECRYPT_FAILED,
    errorClass: DecryptFailedError,
    spoil: (path) => truncateSync(path, 0),
  },
  {
    name: "not a Fernet token at all",
    code: DECRYPT_FAILED,
    errorClass: DecryptFailedError,
    spoil: (path) => writeFileSync(path, JSON.stringify(record)),
  },
  {
    name: "valid token but not JSON",
    code: CORRUPT_RECORD,
    errorClass: CorruptRecordError,
    spoil: (path) => writeFileSync(path, new Fernet(key).encrypt(`not json ${SECRET}`)),
  },
  {
    name: "JSON but not a record",
    code: CORRUPT_RECORD,
    errorClass: CorruptRecordError,
    spoil: (path) =>
      writeFileSync(path, new Fernet(key).encrypt(JSON.stringify({ token_type: "Bearer", secret: SECRET }))),
  },
  {
    name: "a JSON array",
    code: CORRUPT_RECORD,
    errorClass: CorruptRecordError,
    spoil: (path) => writeFileSync(path, new Fernet(key).encrypt(JSON.stringify([SECRET]))),
  },
];

async function failureOf(promise: Promise<unknown>): Promise<Error> {
  return promise.then(
    () => {
      throw new Error("expected a failure");
    },
    (error: Error) => error,
  );
}

describe("bad input: typed error naming path and fix, file left exactly as it was", () => {
  it.each(badInputs.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
    const path = join(tempDir(), "cache.enc");
    await new FileTokenStore({ path, fernetKeys: key }).set("default", record);
    c.spoil(path);
    chmodSync(path, 0o600);
    const before = snapshot(path);
    const store = new FileTokenStore({ path, fernetKeys: c.keys ?? key });
    const attempts = [
      () => store.get("default"),
      () => store.set("default", { access_token: "replacement", token_type: "Bearer" }),
      () => store.delete("default"),
      () => store.withLock("default", () => store.get("default")),
    ];
    for (const attempt of attempts) {
      const error = await failureOf(attempt());
      expect(error).toBeInstanceOf(c.errorClass);
      expect((error as { code?: string }).code).toBe(c.code);
      expect((error as { location?: string }).location).toBe(path);
      expect(error.message).toContain(path);
      expect(error.message).toMatch(/Fix: /);
      expect(error.message).not.toContain(SECRET);
      expect(String((error.cause as Error | undefined)?.message ?? "")).not.toContain(SECRET);
    }
    expect(snapshot(path)).toEqual(before);
  });

  it("a missing file is no record: get resolves undefined, delete false, and nothing is created", async () => {
    const dir = tempDir();
    const store = new FileTokenStore({ path: join(dir, "sub", "cache.enc"), fernetKeys: key });
    expect(await store.get("default")).toBeUndefined();
    expect(await store.delete("default")).toBe(false);
    expect(() => readFileSync(join(dir, "sub", "cache.enc"))).toThrow(/ENOENT/);
  });

  it("a parent path that is a file gives STORE_UNAVAILABLE naming the path", async () => {
    const blocker = join(tempDir(), "not-a-dir");
    writeFileSync(blocker, "plain file");
    const store = new FileTokenStore({ path: `${blocker}/tokens/`, fernetKeys: key });
    for (const attempt of [() => store.get("k"), () => store.set("k", record)]) {
      const error = await failureOf(attempt());
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect((error as { code?: string }).code).toBe(STORE_UNAVAILABLE);
      expect(error.message).toContain(blocker);
    }
    expect(readFileSync(blocker, "utf8")).toBe("plain file");
  });

  it("a directory where the record file should be gives STORE_UNAVAILABLE", async () => {
    const path = join(tempDir(), "cache.enc");
    mkdirSync(path);
    const error = await failureOf(new FileTokenStore({ path, fernetKeys: key }).get("k"));
    expect((error as { code?: string }).code).toBe(STORE_UNAVAILABLE);
    expect(error.message).toMatch(/not a regular file/);
  });

  it("Python's wrong-key vector: DECRYPT_FAILED and the file is untouched", async () => {
    const cases = JSON.parse(readFileSync(new URL("token-cache/cases.json", VECTORS), "utf8")) as {
      file: string;
      keys: string[];
      expect_error?: string;
    }[];
    const wrong = cases.find((c) => c.expect_error)!;
    const path = join(tempDir(), wrong.file);
    copyFileSync(new URL(`token-cache/${wrong.file}`, VECTORS), path);
    chmodSync(path, 0o600);
    const before = snapshot(path);
    const store = await createTokenStore(`file:${path}`, { fernetKeys: wrong.keys.join(",") });
    await expect(store.get("default")).rejects.toMatchObject({ code: DECRYPT_FAILED });
    await expect(store.set("default", record)).rejects.toMatchObject({ code: DECRYPT_FAILED });
    expect(snapshot(path)).toEqual(before);
  });
});

describe("configuration errors", () => {
  it("a missing Fernet key says to run `easel key generate` and set EASEL_FERNET_KEY", async () => {
    for (const fernetKeys of [undefined, "", "  "]) {
      const error = await failureOf(createTokenStore("file:/tmp/x/", { fernetKeys, env: {} }));
      expect(error).toBeInstanceOf(TypeError);
      expect((error as { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
      expect(error.message).toContain("easel key generate");
      expect(error.message).toContain("EASEL_FERNET_KEY");
    }
  });

  it("falls back to EASEL_FERNET_KEY in options.env", async () => {
    const path = join(tempDir(), "cache.enc");
    const store = await createTokenStore(`file:${path}`, { env: { EASEL_FERNET_KEY: key } });
    await store.set("k", record);
    expect(await new FileTokenStore({ path, fernetKeys: key }).get("k")).toEqual(record);
  });

  it("an invalid key is refused without echoing it", async () => {
    const bad = `${key.slice(0, 30)}`;
    const error = await failureOf(createTokenStore("file:/tmp/x", { fernetKeys: `${key},${bad}` }));
    expect((error as { code?: string }).code).toBe("ERR_INVALID_ARG_VALUE");
    expect(error.message).toMatch(/#2 of 2/);
    expect(error.message).not.toContain(bad);
  });

  it("rejects URIs that are not file: URIs", async () => {
    for (const uri of ["redis://x", "file:", "/tmp/no-scheme"]) {
      await expect(createTokenStore(uri, { fernetKeys: key })).rejects.toMatchObject({
        code: "ERR_INVALID_ARG_VALUE",
      });
    }
  });
});
