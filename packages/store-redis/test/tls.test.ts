import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { generateKey } from "@easel/fernet";
import { STORE_UNAVAILABLE, TokenStoreError } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTokenStore } from "../src/index.js";
import { ScratchRedis } from "./helpers.js";

const CHILD = fileURLToPath(new URL("./fixtures/tls-child.mjs", import.meta.url));
const fernetKeys = generateKey();

describe("rediss:// (TLS)", () => {
  let tls: { server: ScratchRedis; certFile: string };
  beforeAll(async () => {
    tls = await ScratchRedis.startTls();
  });
  afterAll(() => tls.server.stop());

  it("round-trips a record over TLS when the server's certificate is trusted", () => {
    const run = spawnSync(process.execPath, [CHILD], {
      env: {
        ...process.env,
        NODE_EXTRA_CA_CERTS: tls.certFile,
        EASEL_TEST_REDIS_URI: `rediss://localhost:${tls.server.port}/0?prefix=tls:`,
        EASEL_FERNET_KEY: fernetKeys,
      },
      encoding: "utf8",
      timeout: 20_000,
    });
    expect(run.stderr).toBe("");
    expect(JSON.parse(run.stdout)).toEqual({ access_token: "over-tls", token_type: "Bearer" });
  });

  for (const [label, uri] of [
    ["an untrusted certificate", "rediss://localhost:PORT/0"],
    ["plain redis:// against a TLS-only port", "redis://127.0.0.1:PORT/0"],
  ]) {
    it(`${label} fails with STORE_UNAVAILABLE, quickly`, async () => {
      const started = performance.now();
      const error = await createTokenStore(uri!.replace("PORT", String(tls.server.port)), {
        fernetKeys,
      }).then(
        (store) => store.close(),
        (e: unknown) => e,
      );
      expect(error).toBeInstanceOf(TokenStoreError);
      expect((error as TokenStoreError).code).toBe(STORE_UNAVAILABLE);
      expect(performance.now() - started).toBeLessThan(3_000);
    });
  }
});
