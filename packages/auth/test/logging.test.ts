import { inspect } from "node:util";
import { type CanvasSim, createCanvasSim } from "@easel/canvas-sim";
import { ManualClock } from "@easel/clock";
import { MemoryStore } from "@easel/token-store";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { developerToken, oauth, TokenAdmin, TokenManager } from "../src/index.js";
import { captureLogger, settleWith } from "./helpers.js";

let sim: CanvasSim;

beforeAll(async () => {
  sim = await createCanvasSim({ seed: 13, courses: 1, studentsPerCourse: 5, throttle: false });
});
afterAll(async () => {
  await sim?.close();
});

/** Every way a secret could show up: message, stack, cause chain, enumerable fields. */
function everythingAbout(error: unknown): string {
  return [
    String(error),
    (error as Error)?.stack ?? "",
    inspect(error, { depth: 20, showHidden: true }),
    JSON.stringify(error),
  ].join("\n");
}

describe("logs and errors never contain a secret", () => {
  it("across login, refresh, retries, refusal, misconfiguration, rotation and revocation", async () => {
    const logger = captureLogger();
    const secrets = new Set<string>([sim.clientSecret, sim.developerToken]);
    const errors: unknown[] = [];
    const clock = new ManualClock(sim.now());

    // Login: code, verifier, state-protected exchange.
    const strategy = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: sim.clientSecret,
      redirectUri: "http://127.0.0.1:8765/callback",
      clock,
      dangerouslyAllowInsecureHttp: true,
    });
    const { url, state, codeVerifier } = strategy.startLogin();
    secrets.add(codeVerifier);
    const callback = (await fetch(`${url}&auto=1`, { redirect: "manual" })).headers.get("location")!;
    secrets.add(new URL(callback).searchParams.get("code")!);
    const record = await strategy.handleCallback(callback, { expectedState: state, codeVerifier });
    secrets.add(record.access_token).add(record.refresh_token!);
    // Reusing the code (already consumed) fails: its error must not echo the code either.
    errors.push(
      await strategy.handleCallback(callback, { expectedState: state, codeVerifier }).catch((e) => e),
    );

    const store = new MemoryStore();
    await store.set("default", record);
    const manager = new TokenManager(strategy, store, { clock, logger, retryDelayMs: 5 });
    const admin = new TokenAdmin(manager);

    // Refresh with transient failures first (retry warnings), then success.
    sim.faults.add({ fault: "503", route: "POST /login/oauth2/token", times: 1 });
    sim.faults.add({ fault: "malformed", route: "POST /login/oauth2/token", times: 1 });
    await settleWith(clock, admin.refresh());
    secrets.add((await store.get("default"))!.access_token);
    // Give up on transient failures.
    sim.faults.add({ fault: "500", route: "POST /login/oauth2/token", times: 10 });
    errors.push(
      await settleWith(
        clock,
        new TokenAdmin(
          new TokenManager(strategy, store, { clock, logger, refreshRetries: 1, retryDelayMs: 5 }),
        ).refresh(),
      ).catch((e: unknown) => e),
    );
    sim.faults.clear();

    // Misconfigured secret.
    const wrong = oauth({
      baseUrl: sim.url,
      clientId: sim.clientId,
      clientSecret: "wrong-secret-value-123",
      clock,
      dangerouslyAllowInsecureHttp: true,
    });
    secrets.add("wrong-secret-value-123");
    errors.push(
      await new TokenAdmin(new TokenManager(wrong, store, { clock, logger }))
        .refresh()
        .catch((e: unknown) => e),
    );

    // Revocation at Canvas, then a refused refresh.
    await admin.revoke({ deleteRecord: false });
    errors.push(await admin.refresh().catch((e: unknown) => e));

    // Developer token: expiry warning, rotation, invalid token.
    const devToken = sim.admin.createDeveloperToken({ userId: 1, expiresAt: sim.now() + 3 * 86_400_000 });
    secrets.add(devToken);
    const dev = developerToken({ baseUrl: sim.url, clock, logger, dangerouslyAllowInsecureHttp: true });
    const devStore = new MemoryStore();
    await devStore.set("default", dev.recordFor(devToken));
    const devManager = new TokenManager(dev, devStore, { clock, logger });
    const devAdmin = new TokenAdmin(devManager);
    await devAdmin.inspect();
    await devAdmin.rotate();
    const rotated = (await devStore.get("default"))!.access_token;
    secrets.add(rotated);
    sim.admin.revokeToken(rotated);
    errors.push(await devManager.handleUnauthorized(rotated).catch((e) => e));
    errors.push(await dev.rotate(dev.recordFor(rotated)).catch((e) => e));

    // Something was logged: operation, outcome and timing.
    const text = logger.text();
    const ops = logger.lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(ops.some((l) => l.op === "refresh" && l.outcome === "refreshed" && typeof l.ms === "number")).toBe(
      true,
    );
    expect(ops.some((l) => l.op === "refresh" && l.outcome === "retrying")).toBe(true);
    expect(ops.some((l) => l.op === "refresh" && l.outcome === "failed")).toBe(true);
    expect(ops.some((l) => l.op === "refresh" && l.outcome === "reauth")).toBe(true);
    expect(ops.some((l) => l.op === "token-expiry")).toBe(true);
    expect(ops.some((l) => l.op === "rotate" && l.outcome === "rotated")).toBe(true);
    expect(ops.some((l) => l.op === "revoke")).toBe(true);

    expect(errors).toHaveLength(6);
    for (const error of errors) expect(error).toBeInstanceOf(Error);
    const haystack = [text, ...errors.map(everythingAbout)].join("\n");
    for (const secret of secrets) {
      expect(secret.length).toBeGreaterThan(8);
      expect(haystack.includes(secret), `a secret of length ${secret.length} leaked`).toBe(false);
    }
  });
});
