export { createTokenStore } from "./factory.js";
export { fileNameForKey } from "./file-names.js";
export { FileTokenStore, type FileTokenStoreOptions } from "./file-store.js";
export { type FileStoreLocation, parseFileStoreUri } from "./uri.js";
