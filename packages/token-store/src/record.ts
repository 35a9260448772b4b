/**
 * A Canvas credential as Easel and Python jobs both store it: snake_case JSON, the same bytes
 * `json.dumps(record)` writes. Unknown fields survive a round trip through every store.
 *
 * @see https://canvas.instructure.com/doc/api/file.oauth_endpoints.html#post-login-oauth2-token
 */
export interface TokenRecord {
  access_token: string;
  token_type: "Bearer";
  refresh_token?: string;
  /** Epoch seconds, may be fractional (Python's `time.time()`). */
  expires_at?: number;
  expires_in?: number;
  scope?: string;
  user?: TokenUser;
  [extra: string]: unknown;
}

export interface TokenUser {
  id: number;
  name?: string;
  global_id?: string;
  effective_locale?: string;
  [extra: string]: unknown;
}
