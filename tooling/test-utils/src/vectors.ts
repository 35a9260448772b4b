import { readFileSync } from "node:fs";

/**
 * The Fernet and token-cache test vectors (a copy of the team's reference set, with files a
 * Python job wrote), shared by the fernet and store tests.
 */
export const VECTORS = new URL("../vectors/", import.meta.url);

/** Parses a JSON file under VECTORS, e.g. `readVector<Case[]>("fernet/verify.json")`. */
export function readVector<T>(relative: string): T {
  return JSON.parse(readFileSync(new URL(relative, VECTORS), "utf8")) as T;
}
