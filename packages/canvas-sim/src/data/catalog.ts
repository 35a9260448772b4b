/**
 * The catalog: accounts, terms and courses. Accounts and terms are fixed; a course is a pure function of
 * (seed, id), generated on every call in O(1).
 */
import { draw, hash4, Kind, pick } from "../hash.js";
import { DAY, type ModelConfig } from "./config.js";
import { COURSE_SUBJECTS } from "./names.js";

export interface TermInfo {
  id: number;
  name: string;
  startAt: number | null;
  endAt: number | null;
  sisTermId: string | null;
}

export interface AccountInfo {
  id: number;
  name: string;
  parentAccountId: number | null;
  rootAccountId: number | null;
  sisAccountId: string | null;
}

export interface CourseInfo {
  id: number;
  name: string;
  courseCode: string;
  sisCourseId: string;
  accountId: number;
  termId: number;
  startAt: number;
  endAt: number;
  createdAt: number;
  gradingStandardId: number | null;
  hasAttendance: boolean;
  uuid: string;
}

const TERMS: readonly TermInfo[] = [
  { id: 1, name: "Default Term", startAt: null, endAt: null, sisTermId: null },
  {
    id: 2,
    name: "Spring 2026",
    startAt: Date.UTC(2026, 0, 12),
    endAt: Date.UTC(2026, 4, 8),
    sisTermId: "2026SP",
  },
  {
    id: 3,
    name: "Fall 2026",
    startAt: Date.UTC(2026, 7, 24),
    endAt: Date.UTC(2026, 11, 18),
    sisTermId: "2026FA",
  },
];

const ACCOUNTS: readonly AccountInfo[] = [
  { id: 1, name: "Easel University", parentAccountId: null, rootAccountId: null, sisAccountId: null },
  { id: 2, name: "College of Arts & Sciences", parentAccountId: 1, rootAccountId: 1, sisAccountId: "CAS" },
  { id: 3, name: "School of Engineering", parentAccountId: 1, rootAccountId: 1, sisAccountId: "ENG" },
];

export class Catalog {
  readonly #config: ModelConfig;

  constructor(config: ModelConfig) {
    this.#config = config;
  }

  terms(): readonly TermInfo[] {
    return TERMS;
  }
  term(id: number): TermInfo | undefined {
    return TERMS.find((term) => term.id === id);
  }
  accounts(): readonly AccountInfo[] {
    return ACCOUNTS;
  }
  account(id: number): AccountInfo | undefined {
    return ACCOUNTS.find((account) => account.id === id);
  }
  /** The account and every sub-account under it. */
  accountTree(id: number): number[] {
    const ids = [id];
    for (const account of ACCOUNTS)
      if (account.parentAccountId === id) ids.push(...this.accountTree(account.id));
    return ids;
  }

  hasCourse(id: number): boolean {
    return Number.isInteger(id) && id >= 1 && id <= this.#config.courses;
  }

  course(id: number): CourseInfo | undefined {
    if (!this.hasCourse(id)) return undefined;
    const { seed, now } = this.#config;
    const h = hash4(seed, Kind.course, id);
    const [code, title] = pick(COURSE_SUBJECTS, draw(h, 0));
    const number = 100 + Math.floor(draw(h, 1) * 400);
    const termId = id % 7 === 0 ? 1 : id % 3 === 0 ? 2 : 3;
    const term = TERMS[termId - 1]!;
    const startAt = term.startAt ?? now - 60 * DAY;
    const endAt = term.endAt ?? now + 60 * DAY;
    const uuid = [0, 1, 2, 3].map((n) =>
      hash4(seed, Kind.course, id, n + 10)
        .toString(16)
        .padStart(8, "0"),
    );
    return {
      id,
      name: `${title} (Section ${String(id).padStart(2, "0")})`,
      courseCode: `${code} ${number}`,
      sisCourseId: `${term.sisTermId ?? "DEF"}-${code}${number}-${id}`,
      accountId: id % 2 === 1 ? 2 : 3,
      termId,
      startAt,
      endAt,
      createdAt: startAt - 30 * DAY,
      // Most courses grade with letters; every third does not, so both kinds of enrollment grades exist
      // (and course 1, with Roll Call, looks like a real course: letters and attendance).
      gradingStandardId: id % 3 === 0 ? null : 1,
      hasAttendance: id % 2 === 1,
      uuid: uuid.join("").slice(0, 40),
    };
  }

  courseIds(): number[] {
    return Array.from({ length: this.#config.courses }, (_, i) => i + 1);
  }
}
