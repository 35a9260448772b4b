import { fileURLToPath } from "node:url";
import { generateKey } from "@easel/fernet";
import { tokenStoreConformance } from "@easel/token-store/conformance";
import { describe, it } from "vitest";
import { createTokenStore } from "../src/index.js";
import { tempDir } from "./helpers.js";

// Children inherit the environment, so parent and children share this key.
process.env.EASEL_STORE_FILE_TEST_KEY = generateKey();
const open = (dir: string) =>
  createTokenStore(`file:${dir}/`, { fernetKeys: process.env.EASEL_STORE_FILE_TEST_KEY });

tokenStoreConformance({ describe, it }, () => open(tempDir()), {
  childStoreModule: fileURLToPath(new URL("./fixtures/child-store.mjs", import.meta.url)),
  sharedNamespace: () => {
    const namespace = tempDir();
    return { namespace, openStore: () => open(namespace) };
  },
});
