/** One student in one course: the key of everything that student has there. */
export interface StudentKey {
  readonly courseId: number;
  readonly studentId: number;
}

/** A student's submissions in a course, for the listed assignments (sorted, distinct; empty: all). */
export interface SubmissionsKey extends StudentKey {
  readonly assignmentIds: readonly number[];
}

export function studentKey(courseId: number, studentId: number): StudentKey {
  return { courseId, studentId };
}

export function submissionsKey(
  courseId: number,
  studentId: number,
  assignmentIds?: readonly number[],
): SubmissionsKey {
  const ids =
    assignmentIds && assignmentIds.length > 0 ? [...new Set(assignmentIds)].sort((a, b) => a - b) : [];
  return { courseId, studentId, assignmentIds: ids };
}

/** DataLoader options for `StudentKey`s: equal keys are one load and one cache entry. */
export const byStudent = {
  cacheKeyFn: (key: StudentKey): string => `${key.courseId}:${key.studentId}`,
};

/** DataLoader options for `SubmissionsKey`s: the same student and assignment list are one load. */
export const bySubmissions = {
  cacheKeyFn: (key: SubmissionsKey): string =>
    `${key.courseId}:${key.studentId}:${key.assignmentIds.join(",")}`,
};

/** The keys of a batch grouped by `groupOf`, each with its index in the batch (its result's slot). */
export function groupKeys<K, G>(
  keys: readonly K[],
  groupOf: (key: K) => G,
): Map<G, Array<{ key: K; index: number }>> {
  const groups = new Map<G, Array<{ key: K; index: number }>>();
  keys.forEach((key, index) => {
    const group = groupOf(key);
    let members = groups.get(group);
    if (!members) {
      members = [];
      groups.set(group, members);
    }
    members.push({ key, index });
  });
  return groups;
}

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
