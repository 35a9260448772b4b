import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";
import type { TokenProvider } from "@easel/auth";
import { ReauthorizationRequiredError } from "@easel/auth";
import { type CanvasSim, type CanvasSimOptions, createCanvasSim } from "@easel/canvas-sim";

/** A small simulator for one test file. */
export function startSim(options: CanvasSimOptions = {}): Promise<CanvasSim> {
  return createCanvasSim({
    seed: 11,
    courses: 2,
    studentsPerCourse: 30,
    assignmentsPerCourse: 4,
    ...options,
  });
}

/**
 * A tiny real `TokenProvider`: starts from an OAuth pair minted by the simulator and refreshes
 * with the real `refresh_token` grant over HTTP, counting `handleUnauthorized` calls.
 */
export class RefreshingTokenProvider implements TokenProvider {
  handleUnauthorizedCalls = 0;
  getAccessTokenCalls = 0;
  accessToken: string;
  readonly refreshToken: string;
  /** Every access token this provider has handed out (for leak checks). */
  readonly issued: string[] = [];

  constructor(
    private readonly sim: CanvasSim,
    userId: number,
  ) {
    const minted = sim.admin.mintOAuthTokens({ userId });
    this.accessToken = minted.access_token;
    this.refreshToken = minted.refresh_token;
    this.issued.push(minted.access_token, minted.refresh_token);
  }

  async getAccessToken(): Promise<string> {
    this.getAccessTokenCalls++;
    return this.accessToken;
  }

  async handleUnauthorized(rejectedToken: string): Promise<string> {
    this.handleUnauthorizedCalls++;
    if (rejectedToken !== this.accessToken) return this.accessToken;
    const response = await fetch(`${this.sim.url}/login/oauth2/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({
        grant_type: "refresh_token",
        client_id: this.sim.clientId,
        client_secret: this.sim.clientSecret,
        refresh_token: this.refreshToken,
      }),
    });
    const body = (await response.json()) as { access_token?: string; error?: string };
    if (!response.ok || !body.access_token) {
      throw new ReauthorizationRequiredError(`refresh refused (${response.status} ${body.error ?? ""})`);
    }
    this.accessToken = body.access_token;
    this.issued.push(body.access_token);
    return body.access_token;
  }
}

export interface ChildSim {
  url: string;
  developerToken: string;
  summary: { submissions: number; submissionIdFirst: number; submissionIdLast: number };
  stop(): Promise<void>;
}

/** A simulator in a child process, so the test process's RSS is the client's alone. */
export async function startChildSim(options: CanvasSimOptions, courseId: number): Promise<ChildSim> {
  const script = fileURLToPath(new URL("./sim-child.mjs", import.meta.url));
  const child = fork(script, [JSON.stringify(options), String(courseId)], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const ready = await new Promise<Omit<ChildSim, "stop">>((resolve, reject) => {
    child.once("message", (message) => resolve(message as Omit<ChildSim, "stop">));
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`simulator child exited early (${code})`)));
  });
  return {
    ...ready,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
