import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { GatewayError, QUERY_LIMIT_EXCEEDED } from "../errors.js";
import { nestsDeeperThan } from "../nesting.js";
import type { NormalizedLimits } from "../options.js";

/**
 * Armor throws its first violation out of validation, which Yoga answers as a 200 without a
 * code. Reporting it as a validation error instead gives a 400 (GraphQL over HTTP), every
 * violation at once, and `extensions.code: QUERY_LIMIT_EXCEEDED`.
 */
function reportLimit(context: ValidationContext | null, error: GraphQLError): void {
  context?.reportError(
    new GraphQLError(error.message.replace(/^Syntax Error: /, ""), {
      nodes: error.nodes,
      extensions: { code: QUERY_LIMIT_EXCEEDED },
    }),
  );
}

/**
 * Rejects abusive documents before they run (graphql-armor): too deep, too costly, too many
 * aliases, tokens or directives. With introspection off, `__schema`/`__type` are refused and
 * field suggestions ("did you mean ...?") are hidden, so the schema cannot be guessed either.
 * Nesting is checked on the raw document, before the parser recurses into it: a refusal (400
 * whatever the media type, like an oversized body), not a document the parser failed on.
 */
export function useLimits(limits: NormalizedLimits, options: { introspection: boolean }): Plugin {
  const reject = { propagateOnRejection: false, onReject: [reportLimit] };
  return {
    onParams({ params }) {
      if (typeof params.query === "string" && nestsDeeperThan(params.query, limits.maxNesting)) {
        throw new GatewayError(
          QUERY_LIMIT_EXCEEDED,
          `Nesting limit of ${limits.maxNesting} exceeded: the document opens more brackets at once.`,
          { status: 400 },
        );
      }
    },
    onPluginInit({ addPlugin }) {
      addPlugin(
        EnvelopArmorPlugin({
          maxDepth: { n: limits.maxDepth, flattenFragments: true, ...reject },
          costLimit: { maxCost: limits.maxCost, ...reject },
          maxAliases: { n: limits.maxAliases, ...reject },
          maxDirectives: { n: limits.maxDirectives, ...reject },
          // A parse-time limit: Yoga already answers its syntax error with a 400.
          maxTokens: { n: limits.maxTokens },
          blockFieldSuggestion: { enabled: !options.introspection },
        }),
      );
      if (!options.introspection) {
        addPlugin({
          onValidate({ addValidationRule }) {
            addValidationRule(NoSchemaIntrospectionCustomRule);
          },
        });
      }
    },
  };
}
