import { z } from "zod";
import { CONFIG_INVALID, ConfigError } from "./errors.js";
import { storeSchemeOf } from "./store-uri.js";

const FERNET_KEY = /^[A-Za-z0-9_-]{43}=$/;

const envSchema = z.object({
  CANVAS_BASE_URL: z
    .url({ message: "must be an absolute http(s) URL such as https://school.instructure.com" })
    .refine((u) => /^https?:\/\//.test(u), "must start with http:// or https://")
    .optional(),
  CANVAS_ACCESS_TOKEN: z.string().min(1).optional(),
  CANVAS_CLIENT_ID: z.string().min(1).optional(),
  CANVAS_CLIENT_SECRET: z.string().min(1).optional(),
  CANVAS_REDIRECT_URI: z.url({ message: "must be an absolute URL" }).optional(),
  EASEL_TOKEN_STORE: z.string().min(1).optional(),
  EASEL_FERNET_KEY: z
    .string()
    .refine(
      (v) => v.split(",").every((k) => FERNET_KEY.test(k.trim())),
      "must be one or more comma-separated url-safe base64 32-byte keys (run `easel key generate`)",
    )
    .optional(),
  EASEL_TOKEN_KEY: z.string().min(1).default("default"),
  EASEL_GATEWAY_KEYS: z.string().optional(),
});

/** Easel's settings after validation. Secrets are kept but never printed by this package. */
export interface EaselEnvConfig {
  canvasBaseUrl: string | undefined;
  canvasAccessToken: string | undefined;
  oauthClient:
    | { clientId: string; clientSecret: string | undefined; redirectUri: string | undefined }
    | undefined;
  tokenStoreUri: string | undefined;
  fernetKeys: string | undefined;
  tokenKey: string;
  gatewayKeys: string[];
}

/**
 * Reads Easel's environment variables into one validated config. Errors name the variable and
 * the form it expects, never its value.
 */
export function readEnvConfig(
  env: Readonly<Record<string, string | undefined>> = process.env,
): EaselEnvConfig {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(present);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? "environment");
    throw new ConfigError(CONFIG_INVALID, `${variable} ${issue.message}.`, { setting: variable });
  }
  const v = parsed.data;
  if (v.EASEL_TOKEN_STORE) storeSchemeOf(v.EASEL_TOKEN_STORE);
  if (v.CANVAS_CLIENT_SECRET && !v.CANVAS_CLIENT_ID) {
    throw new ConfigError(CONFIG_INVALID, "CANVAS_CLIENT_SECRET is set but CANVAS_CLIENT_ID is not.", {
      setting: "CANVAS_CLIENT_ID",
    });
  }
  return {
    canvasBaseUrl: v.CANVAS_BASE_URL?.replace(/\/+$/, ""),
    canvasAccessToken: v.CANVAS_ACCESS_TOKEN,
    oauthClient: v.CANVAS_CLIENT_ID
      ? {
          clientId: v.CANVAS_CLIENT_ID,
          clientSecret: v.CANVAS_CLIENT_SECRET,
          redirectUri: v.CANVAS_REDIRECT_URI,
        }
      : undefined,
    tokenStoreUri: v.EASEL_TOKEN_STORE,
    fernetKeys: v.EASEL_FERNET_KEY,
    tokenKey: v.EASEL_TOKEN_KEY,
    gatewayKeys: (v.EASEL_GATEWAY_KEYS ?? "")
      .split(",")
      .map((k) => k.trim())
      .filter(Boolean),
  };
}

/** The default store when neither `--store` nor `EASEL_TOKEN_STORE` is given. */
export function defaultTokenStoreUri(
  env: Readonly<Record<string, string | undefined>> = process.env,
): string {
  const base = env.XDG_CONFIG_HOME || `${env.HOME ?? "."}/.config`;
  return `file:${base}/easel/tokens/`;
}
