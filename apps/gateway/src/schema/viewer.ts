import type { User } from "@easel/canvas-client";
import { builder } from "./builder.js";

export const UserRef = builder.objectRef<User>("User").implement({
  description: "A Canvas user.",
  fields: (t) => ({
    id: t.exposeID("id", { nullable: false }),
    name: t.exposeString("name", { nullable: false }),
    sortableName: t.string({ nullable: true, resolve: (u) => u.sortable_name ?? null }),
    shortName: t.string({ nullable: true, resolve: (u) => u.short_name ?? null }),
  }),
});

builder.queryField("viewer", (t) =>
  t.field({
    type: UserRef,
    nullable: false,
    description: "Whose Canvas credential this request uses (users/self).",
    resolve: (_root, _args, ctx) => ctx.loaders.viewer.load("self"),
  }),
);
