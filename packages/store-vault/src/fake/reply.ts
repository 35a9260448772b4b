/** What a fake route answers; the server turns it into Vault's wire format. */
export type Reply =
  /** The success envelope (`request_id`, `lease_id`, ... `data`), also used for 404-with-metadata. */
  | { kind: "envelope"; status: number; data: unknown; warnings?: string[]; auth?: unknown }
  /** `{"errors":[...]}` */
  | { kind: "errors"; status: number; errors: string[] }
  /** No body at all: 204, or the bare 404 of a PATCH on a missing key. */
  | { kind: "empty"; status: number }
  /** A plain JSON object without envelope (`sys/health`, `sys/seal-status`). */
  | { kind: "raw"; status: number; body: unknown };

export function envelope(
  data: unknown,
  status = 200,
  extras: { warnings?: string[]; auth?: unknown } = {},
): Reply {
  return { kind: "envelope", status, data, ...extras };
}

export function errors(status: number, ...messages: string[]): Reply {
  return { kind: "errors", status, errors: messages };
}

export const noContent: Reply = { kind: "empty", status: 204 };

/** Vault's "nil response, nil error" on a read: 404 with an empty error list. */
export const notFound: Reply = { kind: "errors", status: 404, errors: [] };
