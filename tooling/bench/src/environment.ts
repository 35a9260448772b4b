import { existsSync } from "node:fs";
import os from "node:os";

export interface MachineInfo {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  platform: string;
  node: string;
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    cores: os.availableParallelism?.() ?? cpus.length,
    memoryGiB: Math.round((os.totalmem() / 1024 ** 3) * 10) / 10,
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    date: new Date().toISOString(),
  };
}

/**
 * Why a workspace package cannot be imported (its `dist` is not built), or undefined when it
 * can. Resolution goes through the package's exports map, as an import would.
 */
export function packageMissing(specifier: string): string | undefined {
  let url: string;
  try {
    url = import.meta.resolve(specifier);
  } catch {
    return `${specifier} not installed`;
  }
  return existsSync(new URL(url)) ? undefined : `${specifier} not built`;
}

/** The built script of a child process, e.g. `childScript("sim-server")` -> dist/children/sim-server.js. */
export function childScript(name: string): URL {
  return new URL(`./children/${name}.js`, import.meta.url);
}

/** Whether child scripts exist (they are compiled; vitest runs the sources). */
export function childScriptsBuilt(): boolean {
  return existsSync(childScript("sim-server")) && import.meta.url.includes("/dist/");
}
