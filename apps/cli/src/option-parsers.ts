import { InvalidArgumentError } from "commander";

/** The whole number `value` spells, when it lies in [min, max]; undefined otherwise. */
function wholeNumber(value: string, min: number, max: number): number | undefined {
  const n = Number(value);
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min || n > max) return undefined;
  return n;
}

/** A commander parser for a positive integer flag (or argument), naming it on error. */
export function positiveInt(what: string) {
  return (value: string): number => {
    const n = wholeNumber(value, 1, Number.MAX_SAFE_INTEGER);
    if (n === undefined) throw new InvalidArgumentError(`${what} must be a positive integer.`);
    return n;
  };
}

/**
 * A commander parser for an integer from `min` to `max`.
 * @example .option("--port <port>", "TCP port (0 picks a free one)", integerIn(0, 65535), 4000)
 */
export function integerIn(min: number, max: number) {
  return (value: string): number => {
    const n = wholeNumber(value, min, max);
    if (n === undefined) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    return n;
  };
}

/** Ports: 0 asks the system for a free one. */
export const port = integerIn(0, 65535);

/** A number of days (fractions allowed), for expiry warning windows. */
export function days(value: string): number {
  const n = Number(value);
  if (!/^\d+(\.\d+)?$/.test(value.trim()) || !Number.isFinite(n)) {
    throw new InvalidArgumentError("expected a number of days.");
  }
  return n;
}

/** File permissions in octal, e.g. `0640`: owner may read, at most; never executable or world-writable. */
export function fileMode(value: string): number {
  const text = value.trim();
  const n = Number.parseInt(text, 8);
  if (!/^0?[0-7]{3}$/.test(text) || (n & 0o400) === 0 || (n & 0o111) !== 0 || (n & 0o002) !== 0) {
    throw new InvalidArgumentError(
      "expected an octal file mode such as 0600 or 0640 (readable by its owner, not executable, not world-writable).",
    );
  }
  return n;
}
