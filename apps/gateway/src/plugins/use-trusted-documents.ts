import { usePersistedOperations } from "@graphql-yoga/plugin-persisted-operations";
import type { Plugin } from "graphql-yoga";
import { TRUSTED_DOCUMENT_NOT_FOUND, TRUSTED_DOCUMENT_REQUIRED } from "../trusted-documents.js";

/**
 * Production's allowlist: only documents of the manifest run, asked for by hash
 * (`extensions.persistedQuery.sha256Hash`). A request with a document of its own, or without a
 * hash, is refused before parsing; the registered text still goes through parsing, the limits and
 * validation like any other, so a manifest cannot smuggle in what the limits refuse.
 */
export function useTrustedDocuments(documents: ReadonlyMap<string, string>): Plugin {
  const required = {
    message: "This gateway runs registered operations only: send the operation's sha256Hash.",
    extensions: { code: TRUSTED_DOCUMENT_REQUIRED, http: { status: 400 } },
  };
  return usePersistedOperations({
    getPersistedOperation: (hash) => documents.get(hash) ?? null,
    allowArbitraryOperations: false,
    customErrors: {
      persistedQueryOnly: required,
      keyNotFound: required,
      notFound: {
        message: "No registered operation has this sha256Hash.",
        extensions: { code: TRUSTED_DOCUMENT_NOT_FOUND, http: { status: 400 } },
      },
    },
  }) as Plugin;
}
