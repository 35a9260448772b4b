import { readdirSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as pause } from "node:timers/promises";
import { generateKey } from "@easel/fernet";
import { tempDir } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { FileTokenStore } from "../src/index.js";
import { startWorker } from "./helpers.js";

const ITERATIONS = 30;

describe("kill -9 of a writer mid-write", () => {
  it(`never leaves a record that fails to decrypt (${ITERATIONS} kills)`, async () => {
    const key = generateKey();
    const dir = tempDir();
    const path = join(dir, "cache.enc");
    const reader = new FileTokenStore({ path, fernetKeys: key });
    const seen = new Set<string>();
    let strays = 0;
    for (let i = 0; i < ITERATIONS; i++) {
      const writer = startWorker(key, ["write-loop", `file:${path}`]);
      await writer.ready;
      // Kill at a random moment of the write loop: inside encrypt, write, fsync or rename. The pause
      // picks the moment; nothing waits on it for the writer to reach a state.
      await pause(Math.random() * 25);
      writer.child.kill("SIGKILL");
      await writer.done.catch(() => undefined);
      const record = await reader.get("default"); // throws if the file is broken
      expect(record).toBeDefined();
      expect(record!.access_token).toBe(record!.mirror);
      seen.add(record!.access_token.split("-").slice(0, 2).join("-"));
      strays += readdirSync(dir).filter((name) => name.includes(".tmp.")).length;
    }
    // Every writer got at least one record in, and the reads saw many distinct writes.
    expect(seen.size).toBeGreaterThan(ITERATIONS / 2);
    // Temp files of killed writers never break a read, and the next write sweeps them away.
    await new FileTokenStore({ path, fernetKeys: key }).set("default", {
      access_token: "after",
      token_type: "Bearer",
    });
    expect(readdirSync(dir).sort()).toEqual(["cache.enc"]);
    expect(await reader.get("default")).toEqual({ access_token: "after", token_type: "Bearer" });
    console.info(
      `crash test: ${ITERATIONS} kills, ${seen.size} distinct records read, ${strays} temp files seen`,
    );
  }, 60_000);
});
