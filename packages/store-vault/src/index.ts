import type { TokenStoreFactory } from "@easel/token-store";
import type { VaultStoreOptions } from "./options.js";
import { VaultTokenStore } from "./vault-store.js";

export { VaultResponseError } from "./failure.js";
export type { VaultStoreOptions } from "./options.js";
export { type RecordUpdater, VaultTokenStore } from "./vault-store.js";

/**
 * Opens a token store on HashiCorp Vault KV v2. Credentials come from `options.env`
 * (default `process.env`): `VAULT_TOKEN`, or AppRole `VAULT_ROLE_ID` + `VAULT_SECRET_ID`
 * (`VAULT_AUTH_MOUNT`, default `approle`); `VAULT_NAMESPACE` is sent as `X-Vault-Namespace`.
 * No request is made until the first operation.
 *
 * @param uri `vault+http(s)://host[:port]/MOUNT[/PATH]`, e.g. `vault+https://vault:8200/secret/easel/tokens`
 * @example
 * ```ts
 * const store = await createTokenStore("vault+http://127.0.0.1:8200/secret/easel/tokens");
 * await store.set("default", { access_token: "...", token_type: "Bearer" });
 * ```
 */
export async function createTokenStore(
  uri: string,
  options: VaultStoreOptions = {},
): Promise<VaultTokenStore> {
  return new VaultTokenStore(uri, options);
}

createTokenStore satisfies TokenStoreFactory;
