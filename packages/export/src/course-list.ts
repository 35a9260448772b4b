import { canvasEndpoints } from "@easel/canvas-client";
import type { ExportClient } from "./client.js";
import { invalidArg } from "./errors.js";

export interface ListCoursesOptions {
  /**
   * List the courses of this account and its sub-accounts (`GET /api/v1/accounts/:id/courses`,
   * needs an account admin). Without it: the courses the token's user is enrolled in
   * (`GET /api/v1/courses`).
   */
  accountId?: number;
  /** Only courses of this enrollment term. */
  termId?: number;
  signal?: AbortSignal;
}

function checkId(name: string, value: unknown): void {
  if (value !== undefined && (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0)) {
    throw invalidArg(name, value, "must be a positive integer");
  }
}

/**
 * The ids of every course to export for `--all-courses`, sorted ascending (the export's order).
 * Holds only the ids, whatever the number of courses.
 *
 * @example const ids = await listCourseIds(client, { accountId: 1, termId: 3 });
 */
export async function listCourseIds(
  client: ExportClient,
  options: ListCoursesOptions = {},
): Promise<number[]> {
  checkId("accountId", options.accountId);
  checkId("termId", options.termId);
  const { accountId, termId, signal } = options;
  const api = canvasEndpoints(client);
  const courses =
    accountId !== undefined
      ? api.accounts.courses(accountId, termId === undefined ? {} : { enrollmentTermId: termId }, { signal })
      : api.courses.list({}, { signal });
  const ids = new Set<number>();
  for await (const course of courses) {
    // The user's course list has no term filter on Canvas: the client filters on enrollment_term_id.
    if (termId !== undefined && course.enrollment_term_id !== termId) continue;
    ids.add(course.id);
  }
  return [...ids].sort((a, b) => a - b);
}
