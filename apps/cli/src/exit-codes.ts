/** Exit codes of `easel`, a contract scripts rely on (DESIGN.md). */
export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;
export const EXIT_REAUTH = 3;

/** A usage problem found after commander parsed the flags (bad combination, missing env). */
export class UsageError extends Error {
  readonly code = "USAGE";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
  }
}

/** An error that already decided its exit code and wording (e.g. re-authorization needed). */
export class CliExit extends Error {
  readonly exitCode: number;
  constructor(exitCode: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
    this.exitCode = exitCode;
  }
}
