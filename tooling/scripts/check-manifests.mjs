// Every publishable package follows one manifest template (STYLE.md lesson 4): ESM, an exports map
// with types first and ./package.json, a files whitelist, sideEffects, engines, repository.directory,
// exact external versions and workspace:^ internal ones.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const problems = [];
for (const group of ["packages", "apps"]) {
  for (const name of readdirSync(join(root, group))) {
    const file = join(root, group, name, "package.json");
    if (!existsSync(file)) continue;
    const m = JSON.parse(readFileSync(file, "utf8"));
    const where = `${group}/${name}/package.json`;
    const need = (ok, what) => ok || problems.push(`${where}: ${what}`);
    need(m.type === "module", '"type": "module"');
    need(m.sideEffects === false, '"sideEffects": false');
    need(m.engines?.node === ">=20.19", 'engines.node ">=20.19"');
    need(m.repository?.directory === `${group}/${name}`, "repository.directory");
    need(Array.isArray(m.files) && m.files.includes("dist"), 'files includes "dist"');
    need(m.exports?.["./package.json"] === "./package.json", 'exports["./package.json"]');
    for (const [sub, target] of Object.entries(m.exports ?? {})) {
      if (typeof target === "object")
        need(Object.keys(target)[0] === "types", `exports["${sub}"] lists types first`);
    }
    need(existsSync(join(root, group, name, "README.md")), "a README.md beside it");
    for (const field of ["dependencies", "devDependencies", "peerDependencies"]) {
      for (const [dep, version] of Object.entries(m[field] ?? {})) {
        if (dep.startsWith("@easel/")) need(version === "workspace:^", `${dep} uses workspace:^`);
        else if (field !== "peerDependencies") need(/^\d+\.\d+\.\d+$/.test(version), `${dep} pinned exactly`);
      }
    }
  }
}
if (problems.length) {
  console.error(`manifest check failed:\n  ${problems.join("\n  ")}`);
  process.exit(1);
}
console.log("manifests: ok");
