import { fileURLToPath } from "node:url";
import type { Clock } from "@easel/clock";
import { tokenStoreConformance } from "@easel/token-store/conformance";
import { afterAll, describe, it } from "vitest";
import { createTokenStore } from "../src/index.js";
import { startFakeVault } from "../src/testing.js";

const vault = await startFakeVault();
afterAll(() => vault.close());
let run = 0;
const fresh = () => `vault+${vault.url}/secret/conformance/${++run}`;
const open = (uri: string, clock?: Clock) =>
  createTokenStore(uri, { env: { VAULT_TOKEN: vault.rootToken }, clock });
// Child processes reach the same fake over HTTP; the namespace carries the URI and token.
const shared = (uri = fresh()) => ({
  namespace: JSON.stringify({ uri, token: vault.rootToken }),
  openStore: () => open(uri),
});
const childStoreModule = fileURLToPath(new URL("./fixtures/child-store.mjs", import.meta.url));

tokenStoreConformance({ describe, it }, ({ clock }) => open(fresh(), clock), {
  childStoreModule,
  sharedNamespace: shared,
});
