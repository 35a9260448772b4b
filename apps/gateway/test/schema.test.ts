import { readFileSync } from "node:fs";
import { buildSchema, parse, validate } from "graphql";
import { describe, expect, it } from "vitest";
import { exampleQuery, gatewaySchema, printGatewaySchema } from "../src/index.js";
import { OUTSIDE_QUERY } from "./helpers.js";

describe("schema", () => {
  const sdl = printGatewaySchema();

  it("prints the SDL committed in schema.graphql (a schema change is a reviewed change of that file)", () => {
    const committed = readFileSync(new URL("../schema.graphql", import.meta.url), "utf8");
    expect(
      sdl,
      "apps/gateway/schema.graphql differs from the code: run `pnpm --filter @easel/gateway schema:write` and commit it",
    ).toBe(committed);
  });

  it("validates the outside query and the demo's example query", () => {
    for (const query of [OUTSIDE_QUERY, exampleQuery("1")]) {
      expect(validate(gatewaySchema(), parse(query)).map((e) => e.message)).toEqual([]);
    }
  });

  it("uses Canvas REST ids and plain types on the outside query's path (no unions to unwrap)", () => {
    const schema = buildSchema(sdl);
    const course = schema.getQueryType()!.getFields().course!;
    expect(String(course.type)).toBe("Course");
    expect(String(course.args.find((a) => a.name === "id")!.type)).toBe("ID!");
    const student = schema.getType("Student") as import("graphql").GraphQLObjectType;
    expect(Object.keys(student.getFields())).toEqual(
      expect.arrayContaining([
        "id",
        "name",
        "sortableName",
        "sisUserId",
        "grades",
        "submissions",
        "attendance",
        "engagement",
      ]),
    );
    const connection = schema.getType("CourseStudentsConnection") as import("graphql").GraphQLObjectType;
    expect(Object.keys(connection.getFields()).sort()).toEqual(["edges", "nodes", "pageInfo", "totalCount"]);
  });
});
