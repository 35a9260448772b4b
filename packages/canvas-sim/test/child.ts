import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { CanvasSimOptions } from "../src/index.js";

const packageDir = join(dirname(fileURLToPath(import.meta.url)), "..");

/** The child imports the built dist; build it when the suite runs without turbo's build step. */
function ensureBuilt(): void {
  if (existsSync(join(packageDir, "dist", "index.js"))) return;
  execFileSync(
    process.execPath,
    [join(packageDir, "../../node_modules/typescript/bin/tsc"), "-p", "tsconfig.build.json"],
    {
      cwd: packageDir,
      stdio: "inherit",
    },
  );
}

export interface ChildSim {
  url: string;
  developerToken: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts a simulator in a child process (`node test/fixtures/child-sim.mjs`). */
export async function startChildSim(options: CanvasSimOptions): Promise<ChildSim> {
  ensureBuilt();
  const child = spawn(
    process.execPath,
    [join(packageDir, "test/fixtures/child-sim.mjs"), JSON.stringify(options)],
    {
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once("line", resolve);
    child.once("exit", (code) => reject(new Error(`simulator child exited with ${code}`)));
  });
  const { url, developerToken } = JSON.parse(line) as { url: string; developerToken: string };
  return {
    url,
    developerToken,
    process: child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    },
  };
}
