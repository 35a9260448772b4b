import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import * as exportLibrary from "@easel/export";
import * as syncLibrary from "@easel/sync";
import { describe, expect, it } from "vitest";
import { EXPORT_FORMATS, EXPORT_KINDS, SYNC_KINDS } from "../src/kinds.js";
import { BIN } from "./cli-helpers.js";

const STATIC_IMPORT = /^\s*(?:(?:import|export)\s[^;]*?\sfrom\s*|import\s*)["']([^"']+)["']/gm;
const DYNAMIC_IMPORT = /\bimport\(\s*["']([^"']+)["']\s*\)/g;

/** Every module `node dist/bin.js` loads before a command's action runs, and what each imports lazily. */
function staticGraph(entry: string): { files: string[]; packages: Set<string>; lazy: Map<string, string> } {
  const files: string[] = [];
  const packages = new Set<string>();
  const lazy = new Map<string, string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.includes(file)) continue;
    files.push(file);
    const source = readFileSync(file, "utf8");
    for (const [, specifier] of source.matchAll(STATIC_IMPORT)) {
      if (specifier!.startsWith(".")) pending.push(resolve(dirname(file), specifier!));
      else packages.add(specifier!);
    }
    for (const [, specifier] of source.matchAll(DYNAMIC_IMPORT)) lazy.set(specifier!, file);
  }
  return { files, packages, lazy };
}

describe("start-up cost", () => {
  const graph = staticGraph(BIN);

  it("defining the commands loads commander and Node's built-ins only", () => {
    expect(graph.files.length).toBeGreaterThan(5);
    const outside = [...graph.packages].filter((name) => name !== "commander" && !name.startsWith("node:"));
    expect(outside).toEqual([]);
  });

  it("every command loads its implementation on demand, from a module that exists", async () => {
    const relative = [...graph.lazy].filter(([specifier]) => specifier.startsWith("."));
    expect(relative.map(([specifier]) => specifier)).toEqual(
      expect.arrayContaining(["../actions/token.js", "../actions/export.js", "../actions/sync.js"]),
    );
    for (const [specifier, from] of relative) {
      await expect(import(resolve(dirname(from), specifier)), specifier).resolves.toBeTypeOf("object");
    }
  });

  it("the CLI's copies of the kind and format lists equal the libraries'", () => {
    expect(EXPORT_KINDS).toEqual(exportLibrary.EXPORT_KINDS);
    expect(EXPORT_FORMATS).toEqual(exportLibrary.EXPORT_FORMATS);
    expect(SYNC_KINDS).toEqual(syncLibrary.SYNC_KINDS);
  });
});
