import { GraphQLDeferDirective, GraphQLStreamDirective } from "@graphql-tools/utils";
import { type GraphQLSchema, lexicographicSortSchema, printSchema, specifiedDirectives } from "graphql";
import { builder } from "./builder.js";
// Each module registers its types and root fields on the builder when imported.
import "./assignment.js";
import "./course.js";
import "./mutations.js";
import "./progress.js";
import "./student.js";
import "./viewer.js";

let schema: GraphQLSchema | undefined;

/**
 * The gateway's schema (built once: it holds no state, only resolvers). `@defer` and `@stream` are
 * declared in it (not only added by the Yoga plugin at run time) so that the committed SDL, codegen
 * and `easel gateway register-operations` accept operations that use them.
 */
export function gatewaySchema(): GraphQLSchema {
  schema ??= builder.toSchema({
    sortSchema: true,
    directives: [...specifiedDirectives, GraphQLDeferDirective, GraphQLStreamDirective],
  });
  return schema;
}

/**
 * The schema as SDL, sorted, as committed in `apps/gateway/schema.graphql` (frontend teams run
 * codegen from that file; a test fails when it differs from the code).
 */
export function printGatewaySchema(): string {
  return `${printSchema(lexicographicSortSchema(gatewaySchema()))}\n`;
}
