import { join } from "node:path";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { FileTokenStore } from "../src/index.js";
import { startWorker } from "./helpers.js";

interface HammerResult {
  writes: number;
  reads: number;
  torn: number;
  errors: string[];
}

describe("two processes hammering one file", () => {
  it("see only whole records, and so does a third reader", async () => {
    const key = generateKey();
    const path = join(tempDir(), "cache.enc");
    const workers = ["a", "b"].map((id) => startWorker(key, ["hammer", `file:${path}`, id, "1500"]));
    await Promise.all(workers.map((w) => w.ready));
    const reader = new FileTokenStore({ path, fernetKeys: key });
    const readerSaw = new Set<string>();
    let readerReads = 0;
    const stop = Date.now() + 1200;
    while (Date.now() < stop) {
      const record = await reader.get("default");
      expect(record?.access_token).toBe(record?.mirror);
      readerSaw.add(record!.access_token.slice(0, 1));
      readerReads++;
    }
    const results = (await Promise.all(workers.map((w) => w.done))).map(
      (out) => JSON.parse(out.trim().split("\n").pop()!) as HammerResult,
    );
    for (const result of results) {
      expect(result.errors).toEqual([]);
      expect(result.torn).toBe(0);
      expect(result.writes).toBeGreaterThan(20);
    }
    expect(readerSaw).toEqual(new Set(["a", "b"]));
    console.info(
      `concurrency test: writes ${results.map((r) => r.writes).join("+")}, reads ${results.map((r) => r.reads).join("+")}+${readerReads}, torn 0`,
    );
  }, 30_000);
});
