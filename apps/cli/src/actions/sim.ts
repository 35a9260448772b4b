import { type CanvasSim, type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";
import type { SimFlags } from "../commands/sim.js";
import { UsageError } from "../exit-codes.js";
import { untilSignal } from "./signals.js";

/**
 * Starts the simulator (for `easel sim` and `easel demo`). A bad option value (e.g. an unparsable
 * --faults) or a port already taken is a usage error that names the flag to change.
 */
export async function startSim(options: CanvasSimOptions, portFlag: string): Promise<CanvasSim> {
  try {
    return await createCanvasSim(options);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === "ERR_INVALID_ARG_VALUE") throw new UsageError((error as Error).message, { cause: error });
    if (code === "SIM_LISTEN_FAILED") {
      throw new UsageError(`${(error as Error).message} (try another ${portFlag}, or 0)`, { cause: error });
    }
    throw error;
  }
}

/** `easel sim`: the simulator until SIGTERM/SIGINT. */
export async function runSim(flags: SimFlags): Promise<void> {
  const sim = await startSim(
    {
      port: flags.port,
      host: flags.host,
      seed: flags.seed,
      courses: flags.courses,
      studentsPerCourse: flags.students,
      assignmentsPerCourse: flags.assignments,
      faults: flags.faults,
      tokenTtlSeconds: flags.tokenTtl,
      throttleStatus: flags.throttleStatus,
      autoApprove: flags.autoApprove === true,
    },
    "--port",
  );
  const stopped = untilSignal();
  if (flags.json) {
    const { url, developerToken, clientId, clientSecret, redirectUri } = sim;
    process.stdout.write(`${JSON.stringify({ url, developerToken, clientId, clientSecret, redirectUri })}\n`);
  } else {
    process.stdout.write(describe(sim, flags));
  }
  await stopped;
  await sim.close();
}

function describe(sim: CanvasSim, flags: SimFlags): string {
  return [
    `Canvas simulator listening on ${sim.url}`,
    `  developer token    ${sim.developerToken}`,
    `  OAuth client id    ${sim.clientId}`,
    `  OAuth secret       ${sim.clientSecret}`,
    `  redirect URI       ${sim.redirectUri}  (any port on this host is accepted)`,
    `  public PKCE client ${sim.publicClientId}`,
    `  data               ${flags.courses} courses x ${flags.students} students x ${flags.assignments} assignments, seed ${flags.seed}`,
    `  control plane      ${sim.url}/__sim/stats`,
    "Press Ctrl+C to stop.",
    "",
  ].join("\n");
}
