import { spawnSync } from "node:child_process";
import { pythonUnavailable } from "@easel/test-utils";
import { describe, expect, it } from "vitest";
import { pythonJsonDumps } from "../src/index.js";

const samples: unknown[] = [
  { access_token: "a", token_type: "Bearer", expires_at: 1795000000.123456, expires_in: 3600 },
  { nested: { list: [1, "two", null, { three: true }], empty: {}, none: [] } },
  ["Zoë Ørsted-Łukasiewicz 李雷", "emoji 😀", 'quote " backslash \\ slash /', "\u0000\u001f\u007f\b\f\n\r\t"],
  [0.1, -0.5, 1e-5, 1.5e-7, 0.0001, 123456789.123456, 1234567890123456.8, 2.5e-300, -1e-10],
  [0, -7, 42, 1795000000, 2 ** 53 - 1, 1e21],
];

const hasPython = pythonUnavailable() === undefined;

describe("pythonJsonDumps", () => {
  it("writes what Python's json.dumps writes for literal cases", () => {
    expect(pythonJsonDumps({ a: 1, b: [1.5, "é"], c: null })).toBe(
      '{"a": 1, "b": [1.5, "\\u00e9"], "c": null}',
    );
    expect(pythonJsonDumps({ skipped: undefined, kept: false })).toBe('{"kept": false}');
    expect(pythonJsonDumps([1e-5, 1e22, 100.0, 0.5])).toBe("[1e-05, 1e+22, 100, 0.5]");
    expect(() => {
      const loop: Record<string, unknown> = {};
      loop.self = loop;
      pythonJsonDumps(loop);
    }).toThrow(TypeError);
  });

  it("reads back to the same value with JSON.parse", () => {
    for (const sample of samples) expect(JSON.parse(pythonJsonDumps(sample))).toEqual(sample);
  });

  it.skipIf(!hasPython)("is byte-identical to json.dumps(json.loads(text)) in real Python", () => {
    const run = spawnSync(
      "python3",
      ["-c", "import json,sys\nfor v in json.loads(sys.stdin.read()): print(json.dumps(v))"],
      { input: JSON.stringify(samples), encoding: "utf8" },
    );
    expect(run.stderr).toBe("");
    expect(samples.map((sample) => pythonJsonDumps(sample))).toEqual(run.stdout.trimEnd().split("\n"));
  });
});
