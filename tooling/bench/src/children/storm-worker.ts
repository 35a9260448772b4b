/**
 * One process of a refresh storm. argv[2]: StormWorkerConfig as JSON (store credentials come
 * through the environment, never argv). Protocol over IPC:
 *   child -> { type: "ready" }
 *   parent -> { type: "go", round, clockOffsetMs }   (the token is expired by then)
 *   child -> { type: "done", round, storm: ms[], baseline: ms[], failures, manager }
 *   parent -> { type: "exit" }
 * A "go" fires `concurrency` Canvas calls at once, each asking the TokenManager for a token
 * first; then the same number of calls again with the refreshed token, as the baseline.
 */
import { type Clock, oauth, systemClock, TokenManager } from "@easel/auth";
import { openTokenStore } from "@easel/config";

export interface StormWorkerConfig {
  simUrl: string;
  clientId: string;
  storeUri: string;
  key: string;
  concurrency: number;
}

export type StormParentMessage = { type: "go"; round: number; clockOffsetMs: number } | { type: "exit" };

export interface StormDone {
  type: "done";
  round: number;
  storm: number[];
  baseline: number[];
  failures: string[];
  manager: Record<string, number>;
}

const config = JSON.parse(process.argv[2]!) as StormWorkerConfig;
// The parent moves time forward by an hour per round, in the simulator and here, so every
// round starts with an expired token without waiting for one.
let clockOffsetMs = 0;
const clock: Clock = { now: () => Date.now() + clockOffsetMs, sleep: systemClock.sleep };
const store = await openTokenStore(config.storeUri, {
  fernetKeys: process.env.EASEL_FERNET_KEY,
  env: process.env,
});
const strategy = oauth({
  baseUrl: config.simUrl,
  clientId: config.clientId,
  clientSecret: process.env.CANVAS_CLIENT_SECRET,
  clock,
  dangerouslyAllowInsecureHttp: true,
});
const manager = new TokenManager(strategy, store, { key: config.key, clock, lockWaitMs: 60_000 });

async function call(failures: string[]): Promise<number> {
  const started = performance.now();
  try {
    const token = await manager.getAccessToken();
    const response = await fetch(`${config.simUrl}/api/v1/users/self`, {
      headers: { authorization: `Bearer ${token}` },
    });
    await response.arrayBuffer();
    if (response.status !== 200) failures.push(`HTTP ${response.status}`);
  } catch (error) {
    failures.push((error as { code?: string }).code ?? (error as Error).name);
  }
  return performance.now() - started;
}

const fire = (failures: string[]) =>
  Promise.all(Array.from({ length: config.concurrency }, () => call(failures)));

process.on("message", (message: StormParentMessage) => {
  if (message.type === "exit") {
    void store.close().finally(() => process.exit(0));
    return;
  }
  clockOffsetMs = message.clockOffsetMs;
  void (async () => {
    const failures: string[] = [];
    const storm = await fire(failures);
    const baseline = await fire(failures);
    const done: StormDone = {
      type: "done",
      round: message.round,
      storm,
      baseline,
      failures,
      manager: { ...manager.stats() },
    };
    process.send!(done);
  })();
});
process.send!({ type: "ready" });
