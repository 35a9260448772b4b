// Runs a Canvas simulator in its own process and reports its address over IPC.
import { createCanvasSim } from "@easel/canvas-sim";

const options = JSON.parse(process.argv[2] ?? "{}");
const courseId = Number(process.argv[3] ?? "1");
const sim = await createCanvasSim(options);
const summary = await (await fetch(`${sim.url}/__sim/data/courses/${courseId}/summary`)).json();
process.send?.({ url: sim.url, developerToken: sim.developerToken, summary });
const stop = async () => {
  await sim.close();
  process.exit(0);
};
process.on("SIGTERM", stop);
process.on("disconnect", stop);
