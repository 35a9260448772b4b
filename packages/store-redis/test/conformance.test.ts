import { fileURLToPath } from "node:url";
import type { Clock } from "@easel/clock";
import { requireRedis } from "@easel/test-utils";
import type { TokenStoreFactory } from "@easel/token-store";
import { tokenStoreConformance } from "@easel/token-store/conformance";
import { afterAll, describe, it } from "vitest";
import { createTokenStore } from "../src/index.js";
import { testNamespace } from "./helpers.js";

const redisUp = await requireRedis("the Redis conformance tests");
const ns = testNamespace("conformance");
afterAll(() => (redisUp ? ns.cleanup() : undefined));
const factory: TokenStoreFactory = createTokenStore;
const open = (uri: string, clock?: Clock) => () => factory(uri, { fernetKeys: ns.fernetKeys, clock });

tokenStoreConformance(
  { describe: describe.skipIf(!redisUp), it },
  ({ clock }) => open(ns.uri(ns.prefix()), clock)(),
  {
    childStoreModule: fileURLToPath(new URL("./fixtures/child-store.mjs", import.meta.url)),
    sharedNamespace: () => {
      const uri = ns.uri(ns.prefix());
      return { namespace: JSON.stringify({ uri, fernetKeys: ns.fernetKeys }), openStore: open(uri) };
    },
  },
);
