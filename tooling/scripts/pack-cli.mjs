// Packs `easel` for operators: one tarball that `npm install -g` turns into a working command.
// The @easel/* packages are not published, so they are bundled in (esbuild, from the built dist/
// files, code-split so that each command still loads only what it needs); every other import stays
// a real npm dependency, declared at the exact version the workspace pins, so npm installs the
// same libraries the tests ran against. Prints the tarball's absolute path.
// Usage: node tooling/scripts/pack-cli.mjs [OUT_DIR]   (default: dist/ at the repository root)
import { execFileSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { isBuiltin } from "node:module";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const root = fileURLToPath(new URL("../..", import.meta.url));
const cliDir = join(root, "apps", "cli");
const outDir = resolve(process.argv[2] ?? join(root, "dist"));
const readJson = (file) => JSON.parse(readFileSync(file, "utf8"));
const cli = readJson(join(cliDir, "package.json"));

const entry = join(cliDir, "dist", "bin.js");
if (!existsSync(entry)) throw new Error(`${entry} is missing: build the CLI first (npm run build)`);

/** `name` of a bare specifier: `@scope/pkg/sub` -> `@scope/pkg`, `pkg/sub` -> `pkg`. */
function packageName(specifier) {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0];
}

/** Every runtime dependency version the workspace's packages declare, by name. */
function workspaceVersions() {
  const versions = new Map();
  for (const group of ["packages", "apps"]) {
    for (const name of readdirSync(join(root, group))) {
      const file = join(root, group, name, "package.json");
      if (!existsSync(file)) continue;
      for (const [dep, version] of Object.entries(readJson(file).dependencies ?? {})) {
        if (dep.startsWith("@easel/")) continue;
        const seen = versions.get(dep);
        if (seen && seen !== version) throw new Error(`${dep} is pinned at both ${seen} and ${version}`);
        versions.set(dep, version);
      }
    }
  }
  return versions;
}

const stage = mkdtempSync(join(tmpdir(), "easel-cli-pack-"));
try {
  const result = await build({
    entryPoints: { bin: entry },
    outdir: join(stage, "dist"),
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    metafile: true,
    // Node runs every import; "sideEffects": false (the manifest template) would let esbuild drop
    // imports made for their effect, such as the gateway's schema modules registering their types.
    ignoreAnnotations: true,
    logLevel: "warning",
    plugins: [
      {
        name: "only-easel-inside",
        setup(bundler) {
          // A bare specifier that is not ours stays an import of the installed package.
          bundler.onResolve({ filter: /^[^./]/ }, (args) =>
            args.path.startsWith("@easel/") ? undefined : { path: args.path, external: true },
          );
        },
      },
    ],
  });

  const versions = workspaceVersions();
  const dependencies = {};
  const undeclared = [];
  for (const output of Object.values(result.metafile.outputs)) {
    for (const { path, external } of output.imports) {
      if (!external || isBuiltin(path)) continue;
      const name = packageName(path);
      if (versions.has(name)) dependencies[name] = versions.get(name);
      else undeclared.push(name);
    }
  }
  if (undeclared.length > 0) {
    throw new Error(`imported but declared by no workspace package: ${[...new Set(undeclared)].join(", ")}`);
  }

  const manifest = {
    name: cli.name,
    version: cli.version,
    description: cli.description,
    license: cli.license,
    type: "module",
    bin: { easel: "dist/bin.js" },
    files: ["dist", "README.md"],
    engines: cli.engines,
    dependencies: Object.fromEntries(Object.entries(dependencies).sort(([a], [b]) => a.localeCompare(b))),
  };
  writeFileSync(join(stage, "package.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  cpSync(join(cliDir, "README.md"), join(stage, "README.md"));

  mkdirSync(outDir, { recursive: true });
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--json", "--pack-destination", outDir], {
      cwd: stage,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "inherit"],
    }),
  );
  console.log(join(outDir, packed[0].filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
