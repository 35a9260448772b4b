// Reproduces the cost of lock holders killed with SIGKILL (run after `pnpm build`):
//   node bench/dead-holder.mjs [KILLS]
// 1. A child takes the lock of file:DIR/t.enc with a 30 s ttl and is killed with SIGKILL; prints
//    how long the next withLock waits.
// 2. KILLS children loop taking and releasing the lock (ttl 200 ms, so a stale lock costs little
//    even where dead holders are not detected) and are killed at random moments; prints the
//    `*.lock-tmp.*` scratch files left, and left after one more writer took the lock.
import { spawn } from "node:child_process";
import { mkdtempSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { generateKey } from "@easel/fernet";
import { createTokenStore } from "../dist/index.js";

const WORKER = fileURLToPath(new URL("../test/fixtures/worker.mjs", import.meta.url));
const kills = Number(process.argv[2] ?? 100);
const key = generateKey();

function start(args) {
  const child = spawn(process.execPath, [WORKER, ...args], {
    env: { ...process.env, EASEL_FERNET_KEY: key },
    stdio: ["ignore", "pipe", "inherit"],
  });
  const ready = new Promise((resolve, reject) => {
    child.stdout.once("data", resolve);
    child.once("exit", reject);
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return { child, ready, exited };
}

async function kill(worker) {
  worker.child.kill("SIGKILL");
  await worker.exited;
}

async function nextWriterMs(path) {
  const store = await createTokenStore(`file:${path}`, { fernetKeys: key });
  const started = performance.now();
  await store.withLock("held", async () => undefined, { waitMs: 120_000 });
  return Math.round(performance.now() - started);
}

const scratch = (dir) => readdirSync(dir).filter((name) => name.includes(".lock-tmp.")).length;

const holderDir = mkdtempSync(join(tmpdir(), "easel-dead-holder-"));
const holder = start(["hold", `file:${join(holderDir, "t.enc")}`, "30000"]);
await holder.ready;
await kill(holder);
const afterKillMs = await nextWriterMs(join(holderDir, "t.enc"));

const loopDir = mkdtempSync(join(tmpdir(), "easel-dead-writers-"));
const path = join(loopDir, "t.enc");
for (let i = 0; i < kills; i++) {
  const writer = start(["lock-loop", `file:${path}`, "200"]);
  await writer.ready;
  await pause(Math.random() * 20);
  await kill(writer);
}
const leftByKills = scratch(loopDir);
await nextWriterMs(path);
console.log(
  JSON.stringify({
    nextWriterAfterKilledHolderMs: afterKillMs,
    kills,
    scratchFilesAfterKills: leftByKills,
    scratchFilesAfterNextWriter: scratch(loopDir),
  }),
);
