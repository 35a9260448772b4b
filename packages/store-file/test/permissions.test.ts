import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import {
  INSECURE_PERMISSIONS,
  InsecurePermissionsError,
  STORE_UNAVAILABLE,
  type TokenRecord,
} from "@easel/token-store";
import { describe, expect, it } from "vitest";
import { FileTokenStore } from "../src/index.js";
import { snapshot, startWorker, WORKER } from "./helpers.js";

const runningAsRoot = process.getuid?.() === 0;

/**
 * Root ignores directory modes, so as root the denied-directory case is shown through the user
 * nobody; that only works when nobody can read this checkout (a clone inside a 0700 directory,
 * e.g. one made by mktemp -d, is out of its reach).
 */
const nobodyCannotRun: string | undefined = (() => {
  if (!runningAsRoot) return undefined;
  const probe = spawnSync(
    process.execPath,
    ["-e", `require("node:fs").accessSync(${JSON.stringify(WORKER)})`],
    {
      uid: 65534,
      gid: 65534,
    },
  );
  return probe.status === 0 ? undefined : "running as root and the user nobody cannot read this checkout";
})();
if (nobodyCannotRun) console.warn(`Skipping the denied-directory test: ${nobodyCannotRun}.`);

const record: TokenRecord = { access_token: "perm-secret-token", token_type: "Bearer" };

describe.skipIf(process.platform === "win32")("file permissions", () => {
  const key = generateKey();

  it("creates record files 0600 and missing parent directories 0700", async () => {
    const root = join(tempDir(), "a", "b");
    const store = new FileTokenStore({ path: `${root}/`, fernetKeys: key });
    await store.set("default", record);
    expect(statSync(store.pathFor("default")).mode & 0o777).toBe(0o600);
    expect(statSync(root).mode & 0o777).toBe(0o700);
    expect(statSync(join(root, "..")).mode & 0o777).toBe(0o700);
  });

  it("writes 0600 whatever the umask", async () => {
    const path = join(tempDir(), "cache.enc");
    const previous = process.umask(0o000);
    try {
      await new FileTokenStore({ path, fernetKeys: key }).set("k", record);
    } finally {
      process.umask(previous);
    }
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it("replacing a record keeps it 0600", async () => {
    const path = join(tempDir(), "cache.enc");
    const store = new FileTokenStore({ path, fernetKeys: key });
    await store.set("k", record);
    await store.set("k", { ...record, access_token: "second" });
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it.each([0o644, 0o640, 0o604, 0o620, 0o660, 0o601])(
    "refuses to read, overwrite or delete a file with mode %o, naming the chmod fix",
    async (mode) => {
      const path = join(tempDir(), "cache.enc");
      const store = new FileTokenStore({ path, fernetKeys: key });
      await store.set("k", record);
      chmodSync(path, mode);
      const before = snapshot(path);
      for (const attempt of [
        () => store.get("k"),
        () => store.set("k", { ...record, access_token: "other" }),
        () => store.delete("k"),
      ]) {
        const error = await attempt().then(
          () => undefined,
          (caught: unknown) => caught,
        );
        expect(error).toBeInstanceOf(InsecurePermissionsError);
        expect((error as InsecurePermissionsError).code).toBe(INSECURE_PERMISSIONS);
        expect((error as Error).message).toContain(`chmod 600 ${path}`);
        expect((error as Error).message).not.toContain(record.access_token);
      }
      expect(snapshot(path)).toEqual(before);
      chmodSync(path, 0o600);
      expect(await store.get("k")).toEqual(record);
    },
  );

  it.skipIf(nobodyCannotRun !== undefined)(
    "a directory we may not enter gives STORE_UNAVAILABLE naming the path and the fix",
    async () => {
      const dir = join(tempDir(), "private");
      mkdirSync(dir, { mode: 0o700 });
      const store = new FileTokenStore({ path: `${dir}/`, fernetKeys: key });
      await store.set("default", record);
      const before = snapshot(store.pathFor("default"));
      let outcome: { code?: string; message?: string; record?: unknown };
      if (runningAsRoot) {
        // Root ignores directory modes, so ask as another user (nobody) for a 0700 root-owned directory.
        const worker = startWorker(key, ["get", `file:${dir}/`], { uid: 65534, gid: 65534 });
        outcome = JSON.parse(await worker.done);
      } else {
        chmodSync(dir, 0o000);
        try {
          outcome = await store.get("default").then(
            (found) => ({ record: found }),
            (error: { code?: string; message?: string }) => ({ code: error.code, message: error.message }),
          );
        } finally {
          chmodSync(dir, 0o700);
        }
      }
      expect(outcome.code).toBe(STORE_UNAVAILABLE);
      expect(outcome.message).toMatch(/permission denied/);
      expect(outcome.message).toMatch(/Fix: .*chmod 700/);
      expect(snapshot(store.pathFor("default"))).toEqual(before);
      expect(await store.get("default")).toEqual(record);
    },
  );

  it("does not judge the mode of a file it never reads (missing file)", async () => {
    const dir = tempDir();
    writeFileSync(join(dir, "unrelated"), "x", { mode: 0o644 });
    expect(
      await new FileTokenStore({ path: join(dir, "cache.enc"), fernetKeys: key }).get("k"),
    ).toBeUndefined();
  });
});
