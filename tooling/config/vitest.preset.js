// One vitest preset for every package, so a package's vitest.config.ts is two lines.
import { defineConfig, mergeConfig } from "vitest/config";

const base = defineConfig({
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Integration tests start servers and child processes; 2-core CI machines are slow.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // The JSON report lets .ci/run print one "N passed, N failed" line for the whole monorepo.
    reporters: ["default", ["json", { outputFile: "test-results.json" }]],
  },
});

/** @param {import("vitest/config").ViteUserConfig} [overrides] */
export function easelVitestConfig(overrides = {}) {
  return mergeConfig(base, overrides);
}

export default base;
