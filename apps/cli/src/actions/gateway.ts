import { existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { loadTrustedDocuments, operationsToRegister } from "@easel/gateway";
import type { RegisterOperationsFlags } from "../commands/gateway.js";
import { CliExit, EXIT_FAILURE } from "../exit-codes.js";

/** `easel gateway register-operations FILE... --into MANIFEST`. */
export async function registerOperations(
  files: readonly string[],
  flags: RegisterOperationsFlags,
): Promise<void> {
  const sources = await Promise.all(
    files.map(async (name) => ({ name, body: await readFile(name, "utf8") })),
  );
  const { operations, problems } = operationsToRegister(sources);
  if (problems.length > 0) {
    for (const problem of problems) process.stderr.write(`${problem}\n`);
    throw new CliExit(EXIT_FAILURE, `${problems.length} invalid operation(s): ${flags.into} left unchanged.`);
  }
  const documents = new Map<string, string>();
  if (!flags.replace && existsSync(flags.into)) {
    try {
      for (const [hash, document] of loadTrustedDocuments(flags.into)) documents.set(hash, document);
    } catch (error) {
      throw new CliExit(
        EXIT_FAILURE,
        `${flags.into} is not a manifest of trusted documents (use --replace to overwrite it).`,
        { cause: error },
      );
    }
  }
  for (const operation of operations) {
    documents.set(operation.hash, operation.document);
    process.stdout.write(`${operation.hash}  ${operation.name}  ${operation.source}\n`);
  }
  // Sorted keys: the manifest diffs well in review. Written beside, then renamed: never half a file.
  const manifest = Object.fromEntries([...documents].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const partial = `${flags.into}.${process.pid}.tmp`;
  await writeFile(partial, `${JSON.stringify(manifest, null, 2)}\n`);
  await rename(partial, flags.into);
  process.stderr.write(
    `${operations.length} operation(s) registered in ${flags.into} (${documents.size} in the manifest).\n`,
  );
}
