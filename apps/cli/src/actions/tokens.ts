import type { AccessToken, CanvasClient } from "@easel/canvas-client";
import type { TokenRecord } from "@easel/token-store";
import type {
  TokenChangeFlags,
  TokensCommandContext,
  TokensFlags,
  TokenUpdateFlags,
} from "../commands/tokens.js";
import { UsageError } from "../exit-codes.js";
import { connectCanvas } from "./canvas.js";
import { openStore, redactStoreUri } from "./config.js";
import { fingerprint } from "./token.js";

export async function listTokens(flags: TokensFlags, context: TokensCommandContext): Promise<void> {
  await withClient(flags, context, async (client) => {
    const tokens: AccessToken[] = [];
    for await (const token of client.tokens.listUserGenerated(flags.user)) tokens.push(token);
    if (flags.json) {
      context.stdout.write(`${JSON.stringify(tokens.map(publicView), null, 2)}\n`);
      return;
    }
    if (tokens.length === 0) {
      context.stdout.write(`No manually generated tokens for user ${flags.user}.\n`);
      return;
    }
    const rows = tokens.map((token) => [
      String(token.id),
      hintOf(token),
      token.workflow_state,
      token.expires_at ?? "never",
      token.last_used_at ?? "never",
      token.purpose ?? "",
    ]);
    context.stdout.write(table(["ID", "HINT", "STATE", "EXPIRES", "LAST USED", "PURPOSE"], rows));
    const pending = tokens.filter((token) => token.workflow_state === "pending");
    if (pending.length > 0) context.stdout.write(`\n${pendingAdvice(pending[0]!)}\n`);
  });
}

export async function showToken(
  id: string,
  flags: TokensFlags,
  context: TokensCommandContext,
): Promise<void> {
  await withClient(flags, context, async (client) => {
    const token = await client.tokens.get(id, { userId: flags.user });
    write(context, flags, token, "");
  });
}

export async function createToken(flags: TokenChangeFlags, context: TokensCommandContext): Promise<void> {
  if (!flags.purpose?.trim()) {
    throw new UsageError(
      '--purpose is required: Canvas labels every token with what it is for (e.g. --purpose "nightly export").',
    );
  }
  const expiresAt = expiryOf(flags);
  const purpose = flags.purpose;
  await withClient(flags, context, async (client) => {
    const created = await client.tokens.create({
      purpose,
      expiresAt,
      scopes: flags.scope,
      userId: flags.user,
    });
    const note = await deliver(created, flags, context);
    write(context, flags, created, `Created token ${created.id}.${note}`);
  });
}

export async function updateToken(
  id: string,
  flags: TokenUpdateFlags,
  context: TokensCommandContext,
): Promise<void> {
  const expiresAt = expiryOf(flags);
  if (flags.intoStore && !flags.regenerate) {
    throw new UsageError(
      "--into-store goes with --regenerate: only a regenerated token has a new secret to store.",
    );
  }
  const changes = flags.purpose !== undefined || flags.scope !== undefined;
  if (!changes && !flags.regenerate && expiresAt === undefined) {
    throw new UsageError(
      "Nothing to change: give --purpose, --expires-at/--expires-in, --scope or --regenerate.",
    );
  }
  await withClient(flags, context, async (client) => {
    const options = { userId: flags.user };
    let token: AccessToken | undefined;
    if (changes || (!flags.regenerate && expiresAt !== undefined)) {
      token = await client.tokens.update(
        id,
        { purpose: flags.purpose, scopes: flags.scope, expiresAt: flags.regenerate ? undefined : expiresAt },
        options,
      );
    }
    let note = "";
    if (flags.regenerate) {
      token = await client.tokens.regenerate(token?.id ?? id, { ...options, expiresAt });
      note = await deliver(token, flags, context);
    }
    write(
      context,
      flags,
      token!,
      `${flags.regenerate ? "Regenerated" : "Updated"} token ${token!.id}.${note}`,
    );
  });
}

export async function deleteToken(
  id: string,
  flags: TokensFlags,
  context: TokensCommandContext,
): Promise<void> {
  await withClient(flags, context, async (client) => {
    const deleted = await client.tokens.delete(id, { userId: flags.user });
    write(context, flags, deleted, `Deleted token ${deleted.id}; it no longer works.`);
  });
}

async function withClient(
  flags: TokensFlags,
  context: TokensCommandContext,
  run: (client: CanvasClient) => Promise<void>,
): Promise<void> {
  const connection = await connectCanvas(flags, { env: context.env, maxConcurrency: 2 });
  try {
    await run(connection.client);
  } finally {
    await connection.close();
  }
}

/** `--expires-at` or `--expires-in` as a Date; commander already refused both at once. */
function expiryOf(flags: TokenChangeFlags): Date | undefined {
  if (flags.expiresIn !== undefined) return new Date(Date.now() + flags.expiresIn * 1000);
  if (flags.expiresAt === undefined) return undefined;
  const when = new Date(flags.expiresAt);
  if (Number.isNaN(when.getTime())) {
    throw new UsageError(`--expires-at must be an ISO 8601 date, received "${flags.expiresAt}".`);
  }
  return when;
}

/**
 * Where a full new token goes: into `--into-store` (under its lock; the answer printed afterwards
 * carries the hint only), or to stdout, the one time Canvas shows it.
 */
async function deliver(
  token: AccessToken,
  flags: TokenChangeFlags,
  context: TokensCommandContext,
): Promise<string> {
  const secret = token.visible_token;
  if (!flags.intoStore) {
    return secret && !secret.endsWith("...")
      ? " Canvas shows the token this once: keep it now (or use --into-store next time)."
      : "";
  }
  if (!secret || secret.endsWith("...")) {
    throw new UsageError("Canvas answered without the full token, so nothing was stored.");
  }
  const key = flags.intoKey || context.env.EASEL_TOKEN_KEY || "default";
  const record: TokenRecord = { access_token: secret, token_type: "Bearer", token_id: token.id };
  if (token.expires_at) record.expires_at = Date.parse(token.expires_at) / 1000;
  record.user = { id: token.user_id };
  const store = await openStore(flags.intoStore, context.env);
  try {
    await store.withLock(key, () => store.set(key, record));
  } finally {
    await store.close();
  }
  token.visible_token = `${secret.slice(0, 5)}...`;
  return ` Stored under key "${key}" in ${redactStoreUri(flags.intoStore)} (fingerprint ${fingerprint(secret)}).`;
}

/** What `--json` prints: Canvas's fields plus what a pending token needs. */
function publicView(token: AccessToken): Record<string, unknown> {
  return token.workflow_state === "pending"
    ? { ...token, pending_action: pendingAdvice(token) }
    : { ...token };
}

function hintOf(token: AccessToken): string {
  return token.visible_token ? token.visible_token.slice(0, 5) : "";
}

function pendingAdvice(token: AccessToken): string {
  return (
    `Pending: user ${token.user_id} must accept the token in Canvas (Account > Settings > Approved ` +
    "Integrations, the token's Activate button) before it works; until then Canvas answers 401."
  );
}

function write(
  context: TokensCommandContext,
  flags: TokensFlags,
  token: AccessToken,
  headline: string,
): void {
  if (flags.json) {
    context.stdout.write(`${JSON.stringify(publicView(token), null, 2)}\n`);
    if (headline) context.stderr.write(`${headline.trim()}\n`);
    return;
  }
  const rows: [string, string][] = [
    ["Id", String(token.id)],
    ["User", String(token.user_id)],
    ["Purpose", token.purpose ?? "(none)"],
    ["State", token.workflow_state],
    ["Expires", token.expires_at ?? "never"],
    ["Last used", token.last_used_at ?? "never"],
    ["Scopes", token.scopes?.length ? token.scopes.join(" ") : "(all)"],
    ["Token", token.visible_token ?? "(not shown for OAuth tokens)"],
  ];
  let text = headline ? `${headline}\n` : "";
  text += rows.map(([label, value]) => `${`${label}:`.padEnd(11)}${value}\n`).join("");
  if (token.workflow_state === "pending") text += `${pendingAdvice(token)}\n`;
  context.stdout.write(text);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) => Math.max(title.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) =>
    `${cells.map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!))).join("  ")}\n`;
  return line(header) + rows.map(line).join("");
}
