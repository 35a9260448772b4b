import SchemaBuilder from "@pothos/core";
import DataloaderPlugin from "@pothos/plugin-dataloader";
import RelayPlugin from "@pothos/plugin-relay";
import type { GatewayContext } from "../context.js";

/**
 * The one Pothos builder. Relay gives `first/after` connections with `nodes`, `edges`,
 * `pageInfo` and `totalCount`; the dataloader plugin loads `Course` by id, per request.
 * Ids in this schema are Canvas REST ids as strings ("1"), not Relay global ids.
 */
export const builder = new SchemaBuilder<{
  Context: GatewayContext;
  Connection: { totalCount: number };
  Scalars: {
    DateTime: { Input: string; Output: string };
    ID: { Input: string; Output: string | number };
  };
}>({
  plugins: [RelayPlugin, DataloaderPlugin],
  relay: {
    clientMutationId: "omit",
    cursorType: "String",
    nodesOnConnection: true,
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
});

builder.globalConnectionField("totalCount", (t) =>
  t.int({
    nullable: false,
    description: "Items in the whole list (Canvas lists are walked whole, so this is free).",
    resolve: (connection) => connection.totalCount,
  }),
);

builder.scalarType("DateTime", {
  description: "An ISO 8601 date-time, as Canvas sends it (e.g. 2026-10-15T12:00:00Z).",
  serialize: (value) => value,
  parseValue: (value) => {
    if (typeof value !== "string" || Number.isNaN(Date.parse(value))) {
      throw new TypeError("DateTime must be an ISO 8601 string");
    }
    return new Date(value).toISOString();
  },
});

builder.queryType({ description: "Canvas data, read with the caller's Canvas credential." });
builder.mutationType({ description: "Canvas writes (grading, attendance)." });
builder.subscriptionType({ description: "Server-sent events (GraphQL over SSE)." });
