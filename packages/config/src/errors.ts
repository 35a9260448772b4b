export const CONFIG_INVALID = "CONFIG_INVALID";
export const INVALID_STORE_URI = "INVALID_STORE_URI";

export type ConfigErrorCode = typeof CONFIG_INVALID | typeof INVALID_STORE_URI;

/** A usage problem in environment variables, flags or a store URI. The CLI exits 2 on it. */
export class ConfigError extends Error {
  readonly code: ConfigErrorCode;
  /** The environment variable or flag at fault, when there is one. */
  readonly setting: string | undefined;

  constructor(code: ConfigErrorCode, message: string, options: { setting?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = this.constructor.name;
    this.code = code;
    this.setting = options.setting;
  }
}
