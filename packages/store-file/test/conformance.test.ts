import { fileURLToPath } from "node:url";
import type { Clock } from "@easel/clock";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { tokenStoreConformance } from "@easel/token-store/conformance";
import { describe, it } from "vitest";
import { createTokenStore } from "../src/index.js";

// Children inherit the environment, so parent and children share this key.
process.env.EASEL_STORE_FILE_TEST_KEY = generateKey();
const open = (dir: string, clock?: Clock) =>
  createTokenStore(`file:${dir}/`, { fernetKeys: process.env.EASEL_STORE_FILE_TEST_KEY, clock });

tokenStoreConformance({ describe, it }, ({ clock }) => open(tempDir("easel-store-file-"), clock), {
  childStoreModule: fileURLToPath(new URL("./fixtures/child-store.mjs", import.meta.url)),
  sharedNamespace: () => {
    const namespace = tempDir("easel-store-file-");
    return { namespace, openStore: () => open(namespace) };
  },
});
