import { EnvelopArmorPlugin } from "@escape.tech/graphql-armor";
import { GraphQLError, NoSchemaIntrospectionCustomRule, type ValidationContext } from "graphql";
import type { Plugin } from "graphql-yoga";
import { QUERY_LIMIT_EXCEEDED } from "../errors.js";
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
 */
export function useLimits(limits: NormalizedLimits, options: { introspection: boolean }): Plugin {
  const reject = { propagateOnRejection: false, onReject: [reportLimit] };
  return {
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
