// Sums every package's vitest JSON report into the one closing line CI reads:
// "N passed, N failed, N skipped". A test file that failed as a whole (it could not be loaded: a
// missing fixture, a broken import; or a hook failed) ran no failing test, so vitest's counts alone
// would hide it: each such file counts as one failure and is named with its error above that line.
// Usage: node tooling/scripts/test-summary.mjs [ROOT]   (default: this repository)
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(process.argv[2] ?? fileURLToPath(new URL("../..", import.meta.url)));
let passed = 0;
let failed = 0;
let skipped = 0;
const missing = [];
const brokenFiles = [];
for (const group of ["packages", "apps", "tooling"]) {
  const dir = join(root, group);
  if (!existsSync(dir)) continue;
  for (const name of readdirSync(dir)) {
    const pkg = join(dir, name);
    if (!existsSync(join(pkg, "vitest.config.ts"))) continue;
    const report = join(pkg, "test-results.json");
    if (!existsSync(report)) {
      missing.push(`${group}/${name}`);
      continue;
    }
    const json = JSON.parse(readFileSync(report, "utf8"));
    passed += json.numPassedTests ?? 0;
    failed += json.numFailedTests ?? 0;
    skipped += (json.numPendingTests ?? 0) + (json.numTodoTests ?? 0);
    for (const file of json.testResults ?? []) {
      const failedTests = (file.assertionResults ?? []).filter((test) => test.status === "failed");
      if (file.status === "failed" && failedTests.length === 0) {
        const firstLine = String(file.message || "failed without a message").split("\n")[0];
        brokenFiles.push(`${relative(root, file.name)}: ${firstLine}`);
      }
    }
  }
}
failed += brokenFiles.length;
if (brokenFiles.length > 0) {
  console.log(
    `test files that failed outside any test (they could not load, or a hook failed):\n  ${brokenFiles.join("\n  ")}`,
  );
}
if (missing.length > 0) console.log(`no test report from: ${missing.join(", ")}`);
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
process.exitCode = failed > 0 || missing.length > 0 ? 1 : 0;
