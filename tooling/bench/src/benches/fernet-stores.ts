import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { TokenRecord, TokenStore } from "@easel/token-store";
import { type Bench, type BenchContext, type Cell, OutputBuilder } from "../harness.js";
import { fmtSpread, mb, median, num, ratio } from "../stats.js";

/**
 * Fernet throughput next to Python's `cryptography` (same key, same record bytes, same
 * time-boxed loop), then get/set records per second on every store.
 */

const RECORD_BYTES = 600;

/** A token record as Canvas returns it, its JSON padded (in `scope`) to exactly 600 bytes. */
export function typicalRecord(): { record: TokenRecord; json: string } {
  const slug = (seed: string) => (seed.repeat(64) + "x".repeat(64)).slice(0, 64);
  const record: TokenRecord = {
    access_token: `7~${slug("Qm3vT9kXa2")}`,
    token_type: "Bearer",
    refresh_token: `7~${slug("Zp8LwR4nE6")}`,
    expires_at: 1792166400.25,
    expires_in: 3600,
    scope: "",
    user: { id: 123456, name: "Ada Lovelace", global_id: "10000000123456", effective_locale: "en" },
    canvas_region: "us-east-1",
  };
  const routes = ["courses", "courses/:course_id/enrollments", "courses/:course_id/students/submissions"];
  let scope = routes.map((r) => `url:GET|/api/v1/${r}`).join(" ");
  const size = (s: string) => Buffer.byteLength(JSON.stringify({ ...record, scope: s }));
  while (size(scope) < RECORD_BYTES) scope += " ";
  scope = scope.slice(0, scope.length - (size(scope) - RECORD_BYTES));
  record.scope = scope;
  return { record, json: JSON.stringify(record) };
}

/** Runs `op` back to back for `targetMs`; returns operations per second. */
async function opsPerSecond(op: () => unknown, targetMs: number): Promise<number> {
  const started = performance.now();
  let count = 0;
  let elapsed = 0;
  while (elapsed < targetMs) {
    for (let i = 0; i < 64; i++) op();
    count += 64;
    elapsed = performance.now() - started;
  }
  return (count / elapsed) * 1000;
}

/** `concurrency` callers each awaiting `op` in a loop for `targetMs`; returns operations per second. */
async function asyncOpsPerSecond(
  op: (i: number) => Promise<unknown>,
  concurrency: number,
  targetMs: number,
): Promise<number> {
  const started = performance.now();
  let count = 0;
  const worker = async (w: number) => {
    let i = w;
    while (performance.now() - started < targetMs) {
      await op(i);
      i += concurrency;
      count++;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return (count / (performance.now() - started)) * 1000;
}

// The same loop as opsPerSecond, in Python: time-boxed, clock read every 64 operations.
const PYTHON_SCRIPT = `
import json, sys, time
from cryptography.fernet import Fernet
cfg = json.load(sys.stdin)
f = Fernet(cfg["key"].encode())
data = cfg["data"].encode()
target = cfg["targetMs"] / 1000.0
def rate(op):
    start = time.perf_counter(); count = 0; elapsed = 0.0
    while elapsed < target:
        for _ in range(64): op()
        count += 64
        elapsed = time.perf_counter() - start
    return count / elapsed
token = f.encrypt(data)
out = {"encrypt": [], "decrypt": []}
for _ in range(cfg["rounds"]):
    out["encrypt"].append(rate(lambda: f.encrypt(data)))
    out["decrypt"].append(rate(lambda: f.decrypt(token)))
out["jsTokenOk"] = f.decrypt(cfg["jsToken"].encode()) == data
out["pyToken"] = f.encrypt(data).decode()
import cryptography
out["version"] = cryptography.__version__
print(json.dumps(out))
`;

interface PythonResult {
  encrypt: number[];
  decrypt: number[];
  jsTokenOk: boolean;
  pyToken: string;
  version: string;
}

/** Runs the Python loop; resolves a reason string when python3 or cryptography is absent. */
function runPython(input: object, timeoutMs: number): Promise<PythonResult | string> {
  return new Promise((resolve) => {
    const child = spawn("python3", ["-c", PYTHON_SCRIPT], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      resolve(`python3 not available (${(error as NodeJS.ErrnoException).code ?? error.message})`);
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(JSON.parse(stdout) as PythonResult);
        return;
      }
      if (stderr.includes("No module named 'cryptography'")) resolve("python3 has no cryptography module");
      else resolve(`python3 failed (exit ${code}): ${stderr.trim().split("\n").pop() ?? ""}`);
    });
    child.stdin.end(JSON.stringify(input));
  });
}

interface StoreUnderTest {
  name: string;
  open: () => Promise<{ store: TokenStore; cleanup: () => Promise<void> } | string>;
}

async function storesUnderTest(ctx: BenchContext, fernetKey: string): Promise<StoreUnderTest[]> {
  const prefix = `easel-bench-${process.pid}-${randomBytes(4).toString("hex")}:`;
  return [
    {
      name: "memory",
      open: async () => {
        const { MemoryStore } = await import("@easel/token-store");
        return { store: new MemoryStore(), cleanup: async () => undefined };
      },
    },
    {
      name: "file (tmp dir, fsync + rename per set)",
      open: async () => {
        const { createTokenStore } = await import("@easel/store-file");
        const dir = join(ctx.tmpDir, "file-store");
        await mkdir(dir, { recursive: true, mode: 0o700 });
        return {
          store: await createTokenStore(`file:${dir}/`, { fernetKeys: fernetKey }),
          cleanup: async () => undefined,
        };
      },
    },
    {
      name: "redis (127.0.0.1:6379)",
      open: async () => {
        const { createTokenStore } = await import("@easel/store-redis");
        try {
          const store = await createTokenStore(
            `redis://127.0.0.1:6379/0?prefix=${encodeURIComponent(prefix)}`,
            { fernetKeys: fernetKey },
          );
          return { store, cleanup: async () => undefined };
        } catch (error) {
          return `Redis not reachable on 127.0.0.1:6379 (${(error as { code?: string }).code ?? "error"})`;
        }
      },
    },
    {
      name: "vault (fake Vault, KV v2 over HTTP)",
      open: async () => {
        const { startFakeVault } = await import("@easel/store-vault/testing");
        const { createTokenStore } = await import("@easel/store-vault");
        const vault = await startFakeVault();
        const store = await createTokenStore(`vault+${vault.url}/secret/easel-bench`, {
          env: { VAULT_TOKEN: vault.rootToken },
        });
        return { store, cleanup: () => vault.close() };
      },
    },
  ];
}

export const fernetStoresBench: Bench = {
  name: "fernet-stores",
  issueItem: 6,
  title: "Fernet and token stores",
  summary:
    "Fernet encrypt/decrypt of a 600-byte token record next to Python's cryptography, and get/set records per second on each store.",
  requires: [
    "@easel/fernet",
    "@easel/token-store",
    "@easel/store-file",
    "@easel/store-redis",
    "@easel/store-vault",
  ],
  timeCapMs: 180_000,
  async run(ctx) {
    const { Fernet, generateKey } = await import("@easel/fernet");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const rounds = smoke ? 2 : 7;
    const targetMs = smoke ? 50 : 400;
    const { record, json } = typicalRecord();
    const bytes = Buffer.byteLength(json);
    const key = generateKey();
    const fernet = new Fernet(key);

    // --- Fernet: Easel (node:crypto) ---
    const token = fernet.encrypt(json);
    const js = { encrypt: [] as number[], decrypt: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      js.encrypt.push(await opsPerSecond(() => fernet.encrypt(json), targetMs));
      js.decrypt.push(await opsPerSecond(() => fernet.decrypt(token), targetMs));
    }
    ctx.log(
      `fernet js: encrypt ${Math.round(median(js.encrypt))} ops/s, decrypt ${Math.round(median(js.decrypt))} ops/s`,
    );

    // --- Fernet: Python cryptography, same key, bytes and loop, right after ---
    const py = await runPython(
      { key, data: json, targetMs, rounds, jsToken: token },
      Math.max(10_000, rounds * targetMs * 4 + 10_000),
    );
    const rows: Cell[][] = [];
    for (const op of ["encrypt", "decrypt"] as const) {
      const row: Cell[] = [
        op,
        fmtSpread(js[op], "ops/s"),
        fmtSpread(
          js[op].map((v) => mb(v * bytes)),
          "MB/s",
        ),
      ];
      if (typeof py === "string") row.push("skipped", "—");
      else row.push(fmtSpread(py[op], "ops/s"), ratio(median(js[op]), median(py[op])));
      rows.push(row);
    }
    const fernetNotes = [
      `One ${bytes}-byte record JSON (a Canvas OAuth token record), ${rounds} rounds of ${targetMs} ms each, one core; median (min–max) over rounds.`,
      "MB/s counts plaintext bytes. Python runs the same time-boxed loop in the same harness run, right after Easel's.",
    ];
    if (typeof py === "string") {
      fernetNotes.push(`Python comparison skipped: ${py}.`);
      ctx.log(`python comparison skipped: ${py}`);
    } else {
      fernetNotes.push(
        `Python: cryptography ${py.version}. Interop checked in the same run: Python decrypted Easel's token (${py.jsTokenOk ? "ok" : "FAILED"}), Easel decrypted Python's (${fernet.decrypt(py.pyToken).toString() === json ? "ok" : "FAILED"}).`,
      );
      out.headline(
        `Fernet on a 600-byte record: encrypt ${Math.round(median(js.encrypt))} ops/s (${ratio(median(js.encrypt), median(py.encrypt))} Python's cryptography), decrypt ${Math.round(median(js.decrypt))} ops/s (${ratio(median(js.decrypt), median(py.decrypt))}).`,
      );
      for (const op of ["encrypt", "decrypt"] as const) {
        const r = median(js[op]) / median(py[op]);
        out.note(
          `Fernet ${op}: Easel runs at ${ratio(median(js[op]), median(py[op]))} Python's rate (${Math.round(median(js[op]))} vs ${Math.round(median(py[op]))} ops/s); ${r >= 1 ? "faster" : "slower"} than cryptography (OpenSSL through Rust). The issue sets no goal here; a token store does one encryption per refresh.`,
        );
      }
    }
    out.table({
      title: "Fernet throughput (600-byte record)",
      columns: ["operation", "Easel (node:crypto)", "Easel MB/s", "Python cryptography", "Easel ÷ Python"],
      rows,
      notes: fernetNotes,
    });
    out.data.fernet = { recordBytes: bytes, rounds, targetMs, js, python: py };

    // --- Stores ---
    const storeRows: Cell[][] = [];
    const storeData: Record<string, unknown> = {};
    const keys = 64;
    const storeRounds = smoke ? 1 : 5;
    const storeTargetMs = smoke ? 100 : 500;
    for (const candidate of await storesUnderTest(ctx, key)) {
      const opened = await candidate.open();
      if (typeof opened === "string") {
        storeRows.push([candidate.name, `skipped: ${opened}`, "", "", ""]);
        ctx.log(`${candidate.name}: skipped (${opened})`);
        continue;
      }
      const { store, cleanup } = opened;
      const k = (i: number) => `bench-${i % keys}`;
      const figures = {
        set1: [] as number[],
        get1: [] as number[],
        set16: [] as number[],
        get16: [] as number[],
      };
      try {
        for (let i = 0; i < keys; i++) await store.set(k(i), record);
        for (let r = 0; r < storeRounds; r++) {
          figures.set1.push(await asyncOpsPerSecond((i) => store.set(k(i), record), 1, storeTargetMs));
          figures.get1.push(await asyncOpsPerSecond((i) => store.get(k(i)), 1, storeTargetMs));
          figures.set16.push(await asyncOpsPerSecond((i) => store.set(k(i), record), 16, storeTargetMs));
          figures.get16.push(await asyncOpsPerSecond((i) => store.get(k(i)), 16, storeTargetMs));
        }
        const check = await store.get(k(0));
        if (check?.access_token !== record.access_token)
          throw new Error(`${candidate.name}: read-back mismatch`);
      } finally {
        for (let i = 0; i < keys; i++) await store.delete(k(i)).catch(() => false);
        await store.close();
        await cleanup();
      }
      storeRows.push([
        candidate.name,
        fmtSpread(figures.set1, "/s"),
        fmtSpread(figures.get1, "/s"),
        fmtSpread(figures.set16, "/s"),
        fmtSpread(figures.get16, "/s"),
      ]);
      storeData[candidate.name] = figures;
      ctx.log(
        `${candidate.name}: set ${Math.round(median(figures.set1))}/s, get ${Math.round(median(figures.get1))}/s (1 caller)`,
      );
    }
    out.table({
      title: "Token stores: records per second",
      columns: ["store", "set, 1 caller", "get, 1 caller", "set, 16 concurrent", "get, 16 concurrent"],
      rows: storeRows,
      notes: [
        `The same ${bytes}-byte record over ${keys} keys; ${storeRounds} rounds of ${storeTargetMs} ms per cell; median (min–max).`,
        "file, redis: every value is Fernet-encrypted (included in the figure). vault: the fake Vault in this process, plaintext JSON in KV v2 with check-and-set writes.",
        "The store's client and the benchmark share one process; Redis runs locally; nothing leaves 127.0.0.1.",
      ],
    });
    out.data.stores = storeData;
    const perStore = Object.entries(storeData as Record<string, { set1: number[]; get1: number[] }>)
      .map(([name, f]) => `${name.split(" ")[0]} ${num(median(f.set1))} / ${num(median(f.get1))}`)
      .join(", ");
    if (perStore) out.headline(`Records/s, set / get, one caller: ${perStore}.`);
    return out.build();
  },
};
