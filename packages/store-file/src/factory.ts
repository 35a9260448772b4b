import type { StoreFactoryOptions, TokenStore } from "@easel/token-store";
import { FileTokenStore } from "./file-store.js";
import { invalidArg, parseFileStoreUri } from "./uri.js";

/**
 * Opens a file store from its URI: `file:PATH` (one record, the Python-compatible cache) or
 * `file:DIR/` (one file per key). Keys come from `options.fernetKeys`, else from
 * `EASEL_FERNET_KEY` in `options.env` (default `process.env`).
 *
 * @example
 * ```ts
 * const store = await createTokenStore("file:/var/lib/easel/tokens/", {
 *   fernetKeys: process.env.EASEL_FERNET_KEY,
 * });
 * ```
 */
export async function createTokenStore(uri: string, options: StoreFactoryOptions = {}): Promise<TokenStore> {
  if (options === null || typeof options !== "object")
    throw invalidArg(`createTokenStore options must be an object; received ${String(options)}.`);
  const { path, directory } = parseFileStoreUri(uri);
  const fernetKeys = options.fernetKeys ?? (options.env ?? process.env).EASEL_FERNET_KEY ?? "";
  return new FileTokenStore({ path, directory, fernetKeys, clock: options.clock });
}
