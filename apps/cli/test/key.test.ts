import { Fernet } from "@easel/fernet";
import { describe, expect, it } from "vitest";
import { easel } from "./cli-helpers.js";

describe("easel key generate", () => {
  it("prints only a new Fernet key on stdout and the hint on stderr", () => {
    const first = easel(["key", "generate"]);
    const second = easel(["key", "generate"]);
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^[A-Za-z0-9_-]{43}=\n$/);
    expect(second.stdout).not.toBe(first.stdout);
    expect(first.stderr).toContain("export EASEL_FERNET_KEY=");
    const key = first.stdout.trim();
    const fernet = new Fernet(key);
    expect(fernet.decrypt(fernet.encrypt("ok")).toString()).toBe("ok");
  });

  it("has --help with an example", () => {
    const help = easel(["key", "generate", "--help"]);
    expect(help.status).toBe(0);
    expect(help.stdout).toContain("Example:");
    expect(help.stdout).toContain('export EASEL_FERNET_KEY="$(easel key generate)"');
  });
});
