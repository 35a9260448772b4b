// A child process of the cross-process lock tests. Usage:
//   node conformance-child.js STORE_MODULE increment N EVENTS_FILE
//   node conformance-child.js STORE_MODULE hold TTL_MS
// STORE_MODULE exports createStore(): Promise<TokenStore> opening EASEL_CONFORMANCE_NS.
import { writeFile } from "node:fs/promises";
import { pathToFileURL } from "node:url";
import { systemClock } from "@easel/clock";
import type { TokenStore } from "./store.js";

const [storeModule, mode, arg1, arg2] = process.argv.slice(2);
const { createStore } = (await import(pathToFileURL(storeModule!).href)) as {
  createStore: () => Promise<TokenStore>;
};
const store = await createStore();
// Milliseconds on the host's monotonic clock (CLOCK_MONOTONIC): one clock for every process on this
// host. (timeOrigin + performance.now() is not: each process samples the wall clock for its origin,
// and two samples taken apart can disagree by a millisecond or two, a false overlap.)
const hostClock = () => Number(process.hrtime.bigint()) / 1e6;

if (mode === "increment") {
  const events: { pid: number; acquiredAt: number; releasedAt: number }[] = [];
  for (let i = 0; i < Number(arg1); i++) {
    await store.withLock(
      "counter",
      async () => {
        const acquiredAt = hostClock();
        const current = Number((await store.get("counter"))?.access_token ?? "0");
        await systemClock.sleep(1 + Math.random() * 3); // widens the window a missing lock would show in
        await store.set("counter", { access_token: String(current + 1), token_type: "Bearer" });
        events.push({ pid: process.pid, acquiredAt, releasedAt: hostClock() });
      },
      { ttlMs: 10_000, waitMs: 60_000 },
    );
  }
  await writeFile(arg2!, JSON.stringify(events));
  await store.close();
} else if (mode === "hold") {
  await store.withLock(
    "held",
    async () => {
      process.stdout.write("locked\n");
      await new Promise(() => undefined); // held until the parent kills us
    },
    { ttlMs: Number(arg1) },
  );
}
