import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CanvasSim } from "../src/index.js";
import { authorize, call, startSim } from "./helpers.js";

let sim: CanvasSim;
beforeAll(async () => {
  sim = await startSim({ throttle: false });
});
afterAll(() => sim.close());

const tokenRequest = (
  form: Record<string, string>,
  extra: { basic?: [string, string]; json?: boolean } = {},
) => {
  const headers: Record<string, string> = {};
  if (extra.basic) headers.Authorization = `Basic ${Buffer.from(extra.basic.join(":")).toString("base64")}`;
  return extra.json
    ? call<Record<string, unknown>>(sim, "/login/oauth2/token", { token: null, json: form, headers })
    : call<Record<string, unknown>>(sim, "/login/oauth2/token", { token: null, form, headers });
};

const pkcePair = () => {
  const verifier = randomBytes(32).toString("base64url");
  return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") };
};

describe("GET /login/oauth2/auth", () => {
  it("shows a consent page with a login field and an Authorize button", async () => {
    const params = new URLSearchParams({
      client_id: sim.clientId,
      response_type: "code",
      redirect_uri: sim.redirectUri,
      state: "s1",
    });
    const page = await call<string>(sim, `/login/oauth2/auth?${params}`, { token: null });
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.body).toContain('name="unique_id"');
    expect(page.body).toMatch(/<button type="submit" id="authorize">Authorize<\/button>/);
    expect(page.body).toContain('name="state" value="s1"');
  });

  it("the consent form posts to /login/oauth2/accept, which redirects with code and state", async () => {
    const accepted = await call(sim, "/login/oauth2/accept", {
      token: null,
      form: {
        client_id: sim.clientId,
        response_type: "code",
        redirect_uri: sim.redirectUri,
        state: "from-form",
        unique_id: "admin@example.edu",
        password: "anything",
      },
    });
    expect(accepted.status).toBe(302);
    const location = new URL(accepted.headers.get("location")!);
    expect(location.searchParams.get("state")).toBe("from-form");
    expect(location.searchParams.get("code")).toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it("?auto=1 approves without a page; unique_id chooses the user", async () => {
    const studentId = sim.data.studentIds(1)[0]!;
    const { code, location } = await authorize(sim, { unique_id: `s${studentId}@example.edu` });
    expect(location.origin + location.pathname).toBe(sim.redirectUri);
    expect(location.searchParams.get("state")).toBe("xyz");
    const token = await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    });
    expect((token.body.user as { id: number }).id).toBe(studentId);
  });

  it("accepts a redirect_uri on the registered host with another port (Canvas's redirect domain)", async () => {
    const { location } = await authorize(sim, { redirect_uri: "http://127.0.0.1:53682/callback" });
    expect(location.port).toBe("53682");
  });

  it("unknown client → 401 invalid_client with WWW-Authenticate: Canvas OAuth 2.0", async () => {
    const result = await call<Record<string, string>>(
      sim,
      `/login/oauth2/auth?client_id=999&response_type=code&redirect_uri=${encodeURIComponent(sim.redirectUri)}`,
      { token: null },
    );
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe("Canvas OAuth 2.0");
    expect(result.body).toEqual({ error: "invalid_client", error_description: "unknown client" });
  });

  it("a redirect_uri on another host → 400 invalid_request", async () => {
    const result = await call<Record<string, string>>(
      sim,
      `/login/oauth2/auth?client_id=${sim.clientId}&response_type=code&redirect_uri=${encodeURIComponent("https://evil.example/cb")}`,
      { token: null },
    );
    expect(result.status).toBe(400);
    expect(result.body).toEqual({
      error: "invalid_request",
      error_description: "redirect_uri does not match client settings",
    });
  });

  it("response_type other than code → redirect with error=unsupported_response_type and the state", async () => {
    const response = await fetch(
      `${sim.url}/login/oauth2/auth?${new URLSearchParams({ client_id: sim.clientId, response_type: "token", redirect_uri: sim.redirectUri, state: "st" })}`,
      { redirect: "manual" },
    );
    const location = new URL(response.headers.get("location")!);
    expect(response.status).toBe(302);
    expect(location.searchParams.get("error")).toBe("unsupported_response_type");
    expect(location.searchParams.get("state")).toBe("st");
  });

  it("Cancel (deny) redirects with error=access_denied", async () => {
    const result = await call(
      sim,
      `/login/oauth2/deny?${new URLSearchParams({ client_id: sim.clientId, redirect_uri: sim.redirectUri, state: "d" })}`,
      { token: null },
    );
    const location = new URL(result.headers.get("location")!);
    expect(location.searchParams.get("error")).toBe("access_denied");
    expect(location.searchParams.get("state")).toBe("d");
  });

  it("PKCE: only S256; a public client must send a challenge", async () => {
    const plain = await authorize(sim, { code_challenge: "abc", code_challenge_method: "plain" });
    expect(plain.location.searchParams.get("error")).toBe("invalid_request");
    const publicWithout = await authorize(sim, { client_id: sim.publicClientId });
    expect(publicWithout.location.searchParams.get("error")).toBe("invalid_request");
  });
});

describe("POST /login/oauth2/token: authorization_code", () => {
  it("returns Canvas's exact key set and a single-use code", async () => {
    const { code } = await authorize(sim);
    const form = {
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    };
    const first = await tokenRequest(form);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual(
      ["access_token", "canvas_region", "expires_in", "refresh_token", "token_type", "user"].sort(),
    );
    expect(first.body.token_type).toBe("Bearer");
    expect(first.body.expires_in).toBe(3600);
    expect(first.body.user).toEqual({
      id: 1,
      name: "Easel Functional User",
      global_id: "10000000000001",
      effective_locale: "en",
    });
    const me = await call<{ id: number }>(sim, "/api/v1/users/self", {
      token: first.body.access_token as string,
    });
    expect(me.body.id).toBe(1);
    const again = await tokenRequest(form);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: "invalid_grant", error_description: "authorization_code not found" });
  });

  it("accepts JSON bodies and HTTP Basic client authentication", async () => {
    const { code } = await authorize(sim);
    const result = await tokenRequest(
      { grant_type: "authorization_code", code: code! },
      {
        json: true,
        basic: [sim.clientId, sim.clientSecret],
      },
    );
    expect(result.status).toBe(200);
    expect(typeof result.body.refresh_token).toBe("string");
  });

  it("treats a missing grant_type with a code as authorization_code", async () => {
    const { code } = await authorize(sim);
    const result = await tokenRequest({
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    });
    expect(result.status).toBe(200);
  });

  it("codes expire after 10 minutes", async () => {
    const { code } = await authorize(sim);
    sim.advanceClock(601);
    const result = await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    });
    expect(result.body).toEqual({
      error: "invalid_grant",
      error_description: "authorization_code not found",
    });
  });

  it("binds the code to its redirect_uri and its PKCE verifier", async () => {
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(sim, { code_challenge: challenge, code_challenge_method: "S256" });
    const base = {
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    };
    const wrongRedirect = await tokenRequest({
      ...base,
      redirect_uri: "http://127.0.0.1/other",
      code_verifier: verifier,
    });
    expect(wrongRedirect.body.error).toBe("invalid_grant");
    const wrongVerifier = await tokenRequest({ ...base, code_verifier: pkcePair().verifier });
    expect(wrongVerifier.status).toBe(400);
    expect(wrongVerifier.body.error).toBe("invalid_grant");
    const noVerifier = await tokenRequest(base);
    expect(noVerifier.body.error).toBe("invalid_grant");
    const right = await tokenRequest({ ...base, redirect_uri: sim.redirectUri, code_verifier: verifier });
    expect(right.status).toBe(200);
  });

  it("a code of another client → invalid_grant incorrect client", async () => {
    const other = sim.admin.registerClient({ name: "Other" });
    const { code } = await authorize(sim);
    const result = await tokenRequest({
      grant_type: "authorization_code",
      client_id: other.clientId,
      client_secret: other.clientSecret!,
      code: code!,
    });
    expect(result.body).toEqual({ error: "invalid_grant", error_description: "incorrect client" });
  });

  it("a missing code → invalid_request", async () => {
    const result = await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    });
    expect(result.body).toEqual({
      error: "invalid_request",
      error_description: "You must provide the code parameter when using the authorization_code grant type",
    });
  });
});

describe("POST /login/oauth2/token: client errors and unsupported grants", () => {
  it.each([
    ["unknown client_id", { client_id: "424242", client_secret: "x" }, "unknown client"],
    ["non-integer client_id", { client_id: "abc", client_secret: "x" }, "unknown client"],
    ["missing client_id", { client_secret: "x" }, "unknown client"],
  ])("%s → 401 invalid_client %s", async (_name, client, description) => {
    const result = await tokenRequest({ grant_type: "refresh_token", refresh_token: "r", ...client });
    expect(result.status).toBe(401);
    expect(result.headers.get("www-authenticate")).toBe("Canvas OAuth 2.0");
    expect(result.body).toEqual({ error: "invalid_client", error_description: description });
  });

  it("wrong or missing secret → 401 invalid_client invalid client", async () => {
    for (const secret of ["wrong", ""]) {
      const result = await tokenRequest({
        grant_type: "refresh_token",
        refresh_token: "r",
        client_id: sim.clientId,
        client_secret: secret,
      });
      expect(result.status).toBe(401);
      expect(result.headers.get("www-authenticate")).toBe("Canvas OAuth 2.0");
      expect(result.body).toEqual({ error: "invalid_client", error_description: "invalid client" });
    }
  });

  it("client_credentials with id and secret is refused (no JWT assertion)", async () => {
    const result = await tokenRequest({
      grant_type: "client_credentials",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    });
    expect(result.status).toBe(400);
    expect(result.body).toEqual({
      error: "invalid_request",
      error_description: "assertion method not supported for this grant_type",
    });
  });

  it("unknown or missing grant_type → unsupported_grant_type", async () => {
    for (const form of [{ grant_type: "password" }, {}] as Array<Record<string, string>>) {
      const result = await tokenRequest({
        ...form,
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
      });
      expect(result.status).toBe(400);
      expect(result.body).toEqual({
        error: "unsupported_grant_type",
        error_description: "The grant_type you requested is not currently supported",
      });
    }
  });

  it("counts grants and refusals in stats", async () => {
    const before = sim.stats().tokenGrants;
    await tokenRequest({ grant_type: "password", client_id: sim.clientId });
    const { code } = await authorize(sim);
    await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      code: code!,
    });
    const after = sim.stats().tokenGrants;
    expect(after.refused).toBe(before.refused + 1);
    expect(after.authorization_code).toBe(before.authorization_code + 1);
  });
});

describe("POST /login/oauth2/token: refresh_token", () => {
  it("confidential client: the refresh token is reusable, each refresh replaces the access token, no new refresh_token", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const form = {
      grant_type: "refresh_token",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      refresh_token: minted.refresh_token,
    };
    const first = await tokenRequest(form);
    expect(first.status).toBe(200);
    expect(Object.keys(first.body).sort()).toEqual([
      "access_token",
      "canvas_region",
      "expires_in",
      "token_type",
      "user",
    ]);
    const second = await tokenRequest(form);
    expect(second.status).toBe(200);
    expect(second.body.access_token).not.toBe(first.body.access_token);
    // The replaced strings stop working; the newest works.
    for (const old of [minted.access_token, first.body.access_token as string]) {
      const result = await call<{ errors: Array<{ message: string }> }>(sim, "/api/v1/users/self", {
        token: old,
      });
      expect(result.status).toBe(401);
      expect(result.body.errors[0]!.message).toBe("Invalid access token.");
    }
    expect(
      (await call(sim, "/api/v1/users/self", { token: second.body.access_token as string })).status,
    ).toBe(200);
    expect(sim.stats().tokenGrants.refresh_token).toBeGreaterThanOrEqual(2);
  });

  it("the refresh token outlives the access token's hour", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1, expiresIn: 60 });
    sim.advanceClock(3 * 3600);
    const result = await tokenRequest({
      grant_type: "refresh_token",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      refresh_token: minted.refresh_token,
    });
    expect(result.status).toBe(200);
  });

  it("a bad or revoked refresh token → 400 invalid_request refresh_token not found", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    sim.admin.revokeToken(minted.refresh_token);
    for (const refresh of ["nonsense", minted.refresh_token]) {
      const result = await tokenRequest({
        grant_type: "refresh_token",
        client_id: sim.clientId,
        client_secret: sim.clientSecret,
        refresh_token: refresh,
      });
      expect(result.status).toBe(400);
      expect(result.body).toEqual({ error: "invalid_request", error_description: "refresh_token not found" });
    }
  });

  it("a missing refresh_token → invalid_request", async () => {
    const result = await tokenRequest({
      grant_type: "refresh_token",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
    });
    expect(result.body).toEqual({
      error: "invalid_request",
      error_description:
        "You must provide the refresh_token parameter when using the refresh_token grant type",
    });
  });

  it("a refresh token of another client → invalid_grant incorrect client", async () => {
    const other = sim.admin.registerClient({});
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const result = await tokenRequest({
      grant_type: "refresh_token",
      client_id: other.clientId,
      client_secret: other.clientSecret!,
      refresh_token: minted.refresh_token,
    });
    expect(result.body).toEqual({ error: "invalid_grant", error_description: "incorrect client" });
  });

  it("public PKCE client: no secret, and the refresh token rotates", async () => {
    const { verifier, challenge } = pkcePair();
    const { code } = await authorize(sim, {
      client_id: sim.publicClientId,
      code_challenge: challenge,
      code_challenge_method: "S256",
    });
    const withoutVerifier = await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.publicClientId,
      code: code!,
    });
    expect(withoutVerifier.status).toBe(401);
    const issued = await tokenRequest({
      grant_type: "authorization_code",
      client_id: sim.publicClientId,
      code: code!,
      code_verifier: verifier,
    });
    expect(issued.status).toBe(200);
    const refreshed = await tokenRequest({
      grant_type: "refresh_token",
      client_id: sim.publicClientId,
      refresh_token: issued.body.refresh_token as string,
    });
    expect(refreshed.status).toBe(200);
    expect(typeof refreshed.body.refresh_token).toBe("string");
    expect(refreshed.body.refresh_token).not.toBe(issued.body.refresh_token);
    const reused = await tokenRequest({
      grant_type: "refresh_token",
      client_id: sim.publicClientId,
      refresh_token: issued.body.refresh_token as string,
    });
    expect(reused.body).toEqual({ error: "invalid_request", error_description: "refresh_token not found" });
  });

  it("token TTL is configurable (tokenTtlSeconds)", async () => {
    const short = await startSim({ tokenTtlSeconds: 5 });
    try {
      const { code } = await authorize(short);
      const result = await call<Record<string, unknown>>(short, "/login/oauth2/token", {
        token: null,
        form: {
          grant_type: "authorization_code",
          client_id: short.clientId,
          client_secret: short.clientSecret,
          code: code!,
        },
      });
      expect(result.body.expires_in).toBe(5);
      short.advanceClock(6);
      const me = await call(short, "/api/v1/users/self", { token: result.body.access_token as string });
      expect(me.status).toBe(401);
      expect(me.headers.get("www-authenticate")).toBe('Bearer realm="canvas-lms"');
    } finally {
      await short.close();
    }
  });
});

describe("DELETE /login/oauth2/token", () => {
  it("revokes the token and its refresh token; returns {}", async () => {
    const minted = sim.admin.mintOAuthTokens({ userId: 1 });
    const result = await call(sim, "/login/oauth2/token", { method: "DELETE", token: minted.access_token });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({});
    const after = await call<{ errors: Array<{ message: string }> }>(sim, "/api/v1/users/self", {
      token: minted.access_token,
    });
    expect(after.status).toBe(401);
    expect(after.body.errors[0]!.message).toBe("Revoked access token.");
    const refresh = await tokenRequest({
      grant_type: "refresh_token",
      client_id: sim.clientId,
      client_secret: sim.clientSecret,
      refresh_token: minted.refresh_token,
    });
    expect(refresh.body.error_description).toBe("refresh_token not found");
  });

  it("without a token → 400 with Canvas's message", async () => {
    const result = await call(sim, "/login/oauth2/token", { method: "DELETE", token: null });
    expect(result.status).toBe(400);
    expect(result.body).toEqual({
      message: "can't delete OAuth access token when not using an OAuth access token",
    });
  });
});

describe("scoped developer keys", () => {
  it("a key requiring scopes issues tokens limited to the requested url: scopes", async () => {
    const scope = "url:GET|/api/v1/courses/:course_id/enrollments";
    const scoped = sim.admin.registerClient({ name: "Scoped", scopes: [scope, "url:GET|/api/v1/courses"] });
    const denied = await authorize(sim, { client_id: scoped.clientId });
    expect(denied.location.searchParams.get("error")).toBe("invalid_scope");
    const { code } = await authorize(sim, { client_id: scoped.clientId, scope });
    const token = await tokenRequest({
      grant_type: "authorization_code",
      client_id: scoped.clientId,
      client_secret: scoped.clientSecret!,
      code: code!,
    });
    const allowed = await call(sim, "/api/v1/courses/1/enrollments", {
      token: token.body.access_token as string,
    });
    expect(allowed.status).toBe(200);
    const other = await call(sim, "/api/v1/courses", { token: token.body.access_token as string });
    expect(other.status).toBe(401);
    expect(other.headers.get("www-authenticate")).toBeNull();
  });
});

describe("redirect URI matching", () => {
  it("requires the registered scheme", async () => {
    const result = await call(
      sim,
      `/login/oauth2/auth?client_id=${sim.clientId}&response_type=code&redirect_uri=${encodeURIComponent("https://127.0.0.1/cb")}`,
      { token: null },
    );
    expect(result.status).toBe(400);
  });
});

describe("default redirect registration", () => {
  it("accepts both loopback names on any port", async () => {
    for (const uri of ["http://localhost:4000/auth/callback", "http://127.0.0.1:8765/cb"]) {
      const { location } = await authorize(sim, { redirect_uri: uri });
      expect(location.searchParams.get("code")).toBeTruthy();
    }
  });
});
