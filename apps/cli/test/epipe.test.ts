import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { BIN } from "./cli-helpers.js";

describe("a closed stdout", () => {
  it("`easel export submissions --help | head -1` exits 0 with no EPIPE crash", () => {
    const result = spawnSync(
      "bash",
      ["-c", `"${process.execPath}" "${BIN}" export submissions --help | head -1; exit "\${PIPESTATUS[0]}"`],
      {
        encoding: "utf8",
      },
    );
    expect(result.stdout).toMatch(/^Usage: easel export/);
    expect(result.stderr).not.toContain("EPIPE");
    expect(result.status).toBe(0);
  });
});
