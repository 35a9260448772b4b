import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  type DefinitionNode,
  type DocumentNode,
  type FragmentDefinitionNode,
  GraphQLError,
  type GraphQLSchema,
  Kind,
  type OperationDefinitionNode,
  parse,
  print,
  validate,
  visit,
} from "graphql";
import { gatewaySchema } from "./schema/index.js";

/**
 * Trusted documents: in production the gateway runs only operations registered ahead of time,
 * named by the SHA-256 of their text. The manifest is a JSON object `{ "<sha256 hex>": "<document>" }`
 * (the shape GraphQL Code Generator's `persistedDocuments` writes, and `easel gateway
 * register-operations` too); clients send `extensions: { persistedQuery: { version: 1, sha256Hash } }`.
 */
export type TrustedDocumentManifest = Readonly<Record<string, string>>;

/** `extensions.code` when a request carries a document instead of a registered hash. */
export const TRUSTED_DOCUMENT_REQUIRED = "TRUSTED_DOCUMENT_REQUIRED";
/** `extensions.code` when the hash is not in the gateway's manifest (client and gateway out of step). */
export const TRUSTED_DOCUMENT_NOT_FOUND = "TRUSTED_DOCUMENT_NOT_FOUND";

/** The id a document is registered under: the lowercase hex SHA-256 of its exact text. */
export function trustedDocumentHash(document: string): string {
  return createHash("sha256").update(document, "utf8").digest("hex");
}

const SHA256_HEX = /^[0-9a-f]{64}$/;

function invalidManifest(detail: string, cause?: unknown): TypeError {
  const error = new TypeError(`Gateway option "trustedDocuments" must be ${detail}`, { cause });
  (error as TypeError & { code: string }).code = "ERR_INVALID_ARG_VALUE";
  return error;
}

/**
 * The manifest as a map, checked once at start: every key is the SHA-256 of its document (a
 * hand-edited or truncated file fails here, not on the request that needs the entry).
 */
export function loadTrustedDocuments(source: string | TrustedDocumentManifest): ReadonlyMap<string, string> {
  let manifest: unknown = source;
  if (typeof source === "string") {
    let text: string;
    try {
      text = readFileSync(source, "utf8");
    } catch (error) {
      throw invalidManifest(`a readable manifest file; received ${JSON.stringify(source)}`, error);
    }
    try {
      manifest = JSON.parse(text);
    } catch (error) {
      throw invalidManifest(`a JSON manifest; ${JSON.stringify(source)} is not JSON`, error);
    }
  }
  if (typeof manifest !== "object" || manifest === null || Array.isArray(manifest)) {
    throw invalidManifest('an object { "<sha256 hex>": "<document>" } or the path of one');
  }
  const documents = new Map<string, string>();
  for (const [hash, document] of Object.entries(manifest)) {
    if (typeof document !== "string" || !SHA256_HEX.test(hash) || trustedDocumentHash(document) !== hash) {
      throw invalidManifest(`a manifest whose keys are the SHA-256 of their documents; entry ${hash} is not`);
    }
    documents.set(hash, document);
  }
  return documents;
}

/** An operation `operationsToRegister` found, under the hash it is registered as. */
export interface RegisteredOperation {
  readonly hash: string;
  /** The operation's name, or `(anonymous)`. */
  readonly name: string;
  /** Where it came from (the file name given). */
  readonly source: string;
  /** The printed document: the operation and the fragments it spreads. */
  readonly document: string;
}

/** Fragments `root` spreads, directly or through other fragments, in definition order. */
function fragmentsUsedBy(root: DefinitionNode, fragments: ReadonlyMap<string, FragmentDefinitionNode>) {
  const used = new Set<string>();
  const pending: DefinitionNode[] = [root];
  for (let node = pending.pop(); node; node = pending.pop()) {
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !used.has(fragment.name.value)) {
          used.add(fragment.name.value);
          pending.push(fragment);
        }
      },
    });
  }
  return [...fragments.values()].filter((fragment) => used.has(fragment.name.value));
}

/**
 * Splits GraphQL sources into one document per operation (with the fragments it uses), printed
 * canonically, validated against the gateway's schema and hashed. Problems (syntax, validation,
 * two anonymous operations in one source) are collected, one line each, never thrown.
 */
export function operationsToRegister(
  sources: ReadonlyArray<{ readonly name: string; readonly body: string }>,
  schema: GraphQLSchema = gatewaySchema(),
): { operations: RegisteredOperation[]; problems: string[] } {
  const operations: RegisteredOperation[] = [];
  const problems: string[] = [];
  for (const source of sources) {
    let parsed: DocumentNode;
    try {
      parsed = parse(source.body);
    } catch (error) {
      problems.push(`${source.name}: ${error instanceof GraphQLError ? error.message : String(error)}`);
      continue;
    }
    const fragments = new Map<string, FragmentDefinitionNode>();
    const roots: OperationDefinitionNode[] = [];
    for (const definition of parsed.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
      else if (definition.kind === Kind.OPERATION_DEFINITION) roots.push(definition);
    }
    if (roots.length === 0) problems.push(`${source.name}: no operation`);
    if (roots.length > 1 && roots.some((root) => !root.name)) {
      problems.push(`${source.name}: an anonymous operation must be the only one of its file`);
      continue;
    }
    for (const root of roots) {
      const name = root.name?.value ?? "(anonymous)";
      const document: DocumentNode = {
        kind: Kind.DOCUMENT,
        definitions: [root, ...fragmentsUsedBy(root, fragments)],
      };
      const errors = validate(schema, document);
      if (errors.length > 0) {
        for (const error of errors) problems.push(`${source.name} (${name}): ${error.message}`);
        continue;
      }
      const printed = print(document);
      operations.push({ hash: trustedDocumentHash(printed), name, source: source.name, document: printed });
    }
  }
  return { operations, problems };
}
