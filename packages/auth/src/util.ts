import { invalidArgument } from "./errors.js";
import { canvasErrorMessage } from "./http.js";

/** Validates an optional positive number option, naming it and the value received. */
export function positiveNumber(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isFinite(value) || value <= 0) {
    throw invalidArgument(`${name} must be a positive number, received ${String(value)}`);
  }
  return value;
}

/** Validates an optional non-negative integer option. */
export function nonNegativeInteger(value: unknown, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw invalidArgument(`${name} must be a non-negative integer, received ${String(value)}`);
  }
  return value;
}

/** The caller's signal, if any, combined with a per-request timeout. */
export function withTimeout(signal: AbortSignal | undefined, timeoutMs: number): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}

/** ": <Canvas's message>" for an error body, or "". */
export function messageSuffix(body: unknown): string {
  const message = canvasErrorMessage(body);
  return message ? `: ${message}` : "";
}

export function asError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(String(reason));
}
