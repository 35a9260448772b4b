import { fileURLToPath } from "node:url";
import type { TokenStoreFactory } from "@easel/token-store";
import { tokenStoreConformance } from "@easel/token-store/conformance";
import { afterAll, describe, it } from "vitest";
import { createTokenStore } from "../src/index.js";
import { testNamespace } from "./helpers.js";

const ns = testNamespace("conformance");
afterAll(() => ns.cleanup());
const factory: TokenStoreFactory = createTokenStore;
const open = (uri: string) => () => factory(uri, { fernetKeys: ns.fernetKeys });

tokenStoreConformance({ describe, it }, () => open(ns.uri(ns.prefix()))(), {
  childStoreModule: fileURLToPath(new URL("./fixtures/child-store.mjs", import.meta.url)),
  sharedNamespace: () => {
    const uri = ns.uri(ns.prefix());
    return { namespace: JSON.stringify({ uri, fernetKeys: ns.fernetKeys }), openStore: open(uri) };
  },
});
