import { easelVitestConfig } from "@easel/tooling/vitest";

export default easelVitestConfig({
  // Vite would resolve "graphql" to its ESM build for our sources while the dependencies (Yoga,
  // Pothos, envelop) load the CommonJS build under Node: two graphql realms. Node itself always
  // picks the CommonJS main, so tests do the same.
  resolve: { alias: [{ find: /^graphql$/, replacement: "graphql/index.js" }] },
});
