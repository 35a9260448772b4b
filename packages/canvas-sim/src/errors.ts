/** Stable error codes of @easel/canvas-sim. */
export const SIM_LISTEN_FAILED = "SIM_LISTEN_FAILED";
export const SIM_UNKNOWN_USER = "SIM_UNKNOWN_USER";
export const SIM_UNKNOWN_CLIENT = "SIM_UNKNOWN_CLIENT";

export type CanvasSimErrorCode =
  | typeof SIM_LISTEN_FAILED
  | typeof SIM_UNKNOWN_USER
  | typeof SIM_UNKNOWN_CLIENT;

/** Base class of every error the simulator throws (bad arguments are `TypeError`s instead). */
export class CanvasSimError extends Error {
  readonly code: CanvasSimErrorCode;
  constructor(code: CanvasSimErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
    this.code = code;
  }
}

/** A `TypeError` with Node's `ERR_INVALID_ARG_VALUE` code, naming the option and the value received. */
export function invalidArg(name: string, value: unknown, expected: string): TypeError {
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  const error = new TypeError(`The option "${name}" ${expected}. Received ${shown}`) as TypeError & {
    code: string;
  };
  error.code = "ERR_INVALID_ARG_VALUE";
  return error;
}
