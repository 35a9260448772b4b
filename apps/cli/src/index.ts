export { EXIT_FAILURE, EXIT_OK, EXIT_REAUTH, EXIT_USAGE } from "./exit-codes.js";
export { buildProgram, runCli } from "./program.js";
