import { exportBench } from "./benches/export.js";
import { fernetStoresBench } from "./benches/fernet-stores.js";
import { gatewayLoadBench } from "./benches/gateway-load.js";
import { gatewayScaleBench } from "./benches/gateway-scale.js";
import { refreshStormBench } from "./benches/refresh-storm.js";
import { requestsPerQueryBench } from "./benches/requests-per-query.js";
import { syncIncrementalBench } from "./benches/sync-incremental.js";
import { throttleBench } from "./benches/throttle.js";
import { workersBench } from "./benches/workers.js";
import type { Bench } from "./harness.js";

/** Every benchmark, in the order `pnpm bench` runs them and RESULTS.md lists them. */
export const BENCHES: readonly Bench[] = [
  requestsPerQueryBench,
  refreshStormBench,
  exportBench,
  throttleBench,
  gatewayLoadBench,
  fernetStoresBench,
  syncIncrementalBench,
  workersBench,
  gatewayScaleBench,
];

export function findBench(name: string): Bench | undefined {
  return BENCHES.find((bench) => bench.name === name);
}
