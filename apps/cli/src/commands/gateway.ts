import type { Command } from "commander";

export interface RegisterOperationsFlags {
  into: string;
  replace?: boolean;
}

/** `easel gateway register-operations`. */
export function registerGatewayCommands(program: Command): void {
  const gateway = program
    .command("gateway")
    .description("Prepare what the GraphQL gateway serves (trusted operations for production).");

  gateway
    .command("register-operations")
    .description(
      "Validate GraphQL operations against the gateway's schema and add them, by sha256, to a manifest.",
    )
    .argument("<files...>", "GraphQL files (.graphql): each operation with the fragments it spreads")
    .requiredOption("--into <manifest>", 'the JSON manifest { "<sha256>": "<document>" } to write')
    .option("--replace", "write only these operations (default: add them to what the manifest holds)")
    .addHelpText(
      "after",
      `
Each operation is printed canonically with the fragments it uses, validated against the gateway's
schema and registered under the SHA-256 of that text. stdout lists "<sha256>  <operation>  <file>"
per operation; clients send the hash as extensions.persistedQuery.sha256Hash (version 1).
Nothing is written when any operation is invalid (exit 1).

Example:
  $ easel gateway register-operations src/**/*.graphql --into operations.json
  $ EASEL_GATEWAY_TRUSTED_DOCUMENTS=operations.json easel serve   # only those operations run`,
    )
    .action(async (files: string[], flags: RegisterOperationsFlags) =>
      (await import("../actions/gateway.js")).registerOperations(files, flags),
    );
}
