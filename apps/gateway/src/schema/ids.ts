import { badInput } from "../errors.js";

/**
 * A Canvas REST id from a GraphQL `ID` argument. Only plain positive integers: ids end up in
 * Canvas URL paths, so nothing else (no `../`, no SIS prefixes) gets through.
 */
export function canvasId(value: string | number, argument: string): number {
  const text = String(value);
  if (!/^[1-9]\d{0,15}$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw badInput(`${argument} must be a Canvas id (a positive integer, e.g. "1")`);
  }
  return Number(text);
}
