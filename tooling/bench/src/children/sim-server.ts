/**
 * The Canvas simulator in a process of its own, so its CPU and memory are not the measured
 * client's. argv[2]: CanvasSimOptions as JSON. Sends `{ url, developerToken, clientId,
 * clientSecret, adminUserId }` over IPC once listening; closes when the parent disconnects.
 * Stats and resets go through the simulator's own control plane (`/__sim/*`, never counted).
 */
import { type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";

const options = JSON.parse(process.argv[2] ?? "{}") as CanvasSimOptions;
const sim = await createCanvasSim(options);
const stop = () => {
  void sim.close().finally(() => process.exit(0));
};
process.on("disconnect", stop);
process.on("SIGTERM", stop);
process.send?.({
  url: sim.url,
  developerToken: sim.developerToken,
  clientId: sim.clientId,
  clientSecret: sim.clientSecret,
  adminUserId: sim.data.adminUserId,
});
