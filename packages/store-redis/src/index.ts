export type { RedisStoreOptions } from "./options.js";
export { createTokenStore, RedisTokenStore } from "./store.js";
