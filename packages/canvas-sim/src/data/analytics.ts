/**
 * Analytics (instructure/analytics): per-student page views and participations generated once per
 * course, hourly activity generated on every call, and student summaries joining them with each
 * student's tardiness and score from the submissions module.
 */
import { draw, hash4, Kind } from "../hash.js";
import { HOUR, type ModelConfig, PerCourse } from "./config.js";
import type { People } from "./people.js";
import type { Submissions } from "./submissions.js";

export interface StudentSummaryRow {
  id: number;
  page_views: number | null;
  max_page_views: number | null;
  page_views_level: number;
  participations: number | null;
  max_participations: number | null;
  participations_level: number;
  tardiness_breakdown: { total: number; on_time: number; late: number; missing: number; floating: number };
}

/** `analytics/users/:id/activity`: page views by ISO hour, participations oldest first. */
export interface StudentActivity {
  page_views: Record<string, number>;
  participations: Array<{ created_at: string; url: string }>;
}

interface Engagement {
  pageViews: Int32Array;
  participations: Int32Array;
  maxPageViews: number | null;
  maxParticipations: number | null;
  pageViewQuartiles: [number, number];
  participationQuartiles: [number, number];
}

interface CourseAnalytics {
  engagement?: Engagement;
  summaryOrders?: Map<string, { version: number; order: Int32Array }>;
}

export class Analytics {
  readonly #config: ModelConfig;
  readonly #people: People;
  readonly #submissions: Submissions;
  readonly #byCourse = new PerCourse<CourseAnalytics>();

  constructor(config: ModelConfig, people: People, submissions: Submissions) {
    this.#config = config;
    this.#people = people;
    this.#submissions = submissions;
  }

  #engagement(courseId: number): Engagement {
    const entry = this.#byCourse.get(courseId);
    if (!entry.engagement) {
      const count = this.#config.studentsPerCourse;
      const pageViews = new Int32Array(count);
      const participations = new Int32Array(count);
      for (let k = 0; k < count; k++) {
        const h = hash4(this.#config.seed, Kind.pageViews, courseId, k);
        if (draw(h, 0) < 0.03) {
          pageViews[k] = -1;
          participations[k] = -1;
        } else {
          const engagement = draw(h, 1);
          pageViews[k] = Math.floor(5 + engagement * engagement * 600 + draw(h, 2) * 40);
          participations[k] = Math.floor(engagement * 40 * draw(h, 3));
        }
      }
      entry.engagement = {
        pageViews,
        participations,
        maxPageViews: maxOrNull(pageViews),
        maxParticipations: maxOrNull(participations),
        pageViewQuartiles: quartiles(pageViews),
        participationQuartiles: quartiles(participations),
      };
    }
    return entry.engagement;
  }

  /** One row of `analytics/student_summaries` (instructure/analytics lib/analytics/student_summary.rb). */
  studentSummary(courseId: number, studentIndex: number): StudentSummaryRow {
    const engagement = this.#engagement(courseId);
    const views = engagement.pageViews[studentIndex]!;
    const parts = engagement.participations[studentIndex]!;
    const tardiness = this.#submissions.tardiness(courseId, studentIndex);
    return {
      id: this.#people.studentId(courseId, studentIndex),
      page_views: views < 0 ? null : views,
      max_page_views: engagement.maxPageViews,
      page_views_level: level(views, engagement.pageViewQuartiles),
      participations: parts < 0 ? null : parts,
      max_participations: engagement.maxParticipations,
      participations_level: level(parts, engagement.participationQuartiles),
      tardiness_breakdown: {
        total: this.#config.assignmentsPerCourse,
        on_time: tardiness.onTime,
        late: tardiness.late,
        missing: tardiness.missing,
        floating: tardiness.floating,
      },
    };
  }

  /** Student indexes in the order of a `sort_column`. */
  summaryOrder(courseId: number, sortColumn: string): Int32Array {
    const descending = sortColumn.endsWith("_descending");
    const column = descending ? sortColumn.slice(0, -"_descending".length) : sortColumn;
    const byName = this.#people.studentNameOrder(courseId);
    if (column === "name") return descending ? byName.slice().reverse() : byName;
    const entry = this.#byCourse.get(courseId);
    entry.summaryOrders ??= new Map();
    const version = this.#submissions.version;
    const cached = entry.summaryOrders.get(sortColumn);
    if (cached && cached.version === version) return cached.order;
    const count = this.#config.studentsPerCourse;
    const values = new Float64Array(count);
    const engagement = this.#engagement(courseId);
    for (let k = 0; k < count; k++) {
      if (column === "score") values[k] = this.#submissions.grades(courseId, k, false).currentScore ?? -1;
      else if (column === "participations") values[k] = engagement.participations[k]!;
      else values[k] = engagement.pageViews[k]!;
    }
    // Ties keep name order, as Canvas's sort_by is stable over the name-ordered list.
    const rank = new Int32Array(count);
    for (let i = 0; i < count; i++) rank[byName[i]!] = i;
    const order = Int32Array.from(byName);
    order.sort((a, b) => {
      const diff = descending ? values[b]! - values[a]! : values[a]! - values[b]!;
      return diff || rank[a]! - rank[b]!;
    });
    entry.summaryOrders.set(sortColumn, { version, order });
    return order;
  }

  /** A student's activity over the 14 days before the clock start, generated per hour from the seed. */
  activity(courseId: number, studentIndex: number, base: string): StudentActivity {
    const pageViews: Record<string, number> = {};
    const participations: Array<{ created_at: string; url: string }> = [];
    const endHour = Math.floor(this.#config.now / HOUR);
    for (let hour = endHour - 14 * 24; hour < endHour; hour++) {
      const h = hash4(this.#config.seed, Kind.activity, courseId, studentIndex, hour);
      if (draw(h, 0) < 0.06) {
        const at = new Date(hour * HOUR).toISOString().replace(/\.\d{3}Z$/, "-00:00");
        pageViews[at] = 1 + Math.floor(draw(h, 1) * 12);
        if (draw(h, 2) < 0.3) {
          participations.push({
            created_at: at,
            url: `${base}/courses/${courseId}/discussion_topics/${1 + Math.floor(draw(h, 3) * 5)}`,
          });
        }
      }
    }
    return { page_views: pageViews, participations };
  }
}

function maxOrNull(values: Int32Array): number | null {
  let max = -1;
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max < 0 ? null : max;
}

function quartiles(values: Int32Array): [number, number] {
  const present = Array.from(values).filter((value) => value >= 0);
  if (present.length === 0) return [0, 0];
  present.sort((a, b) => a - b);
  const at = (q: number) => present[Math.min(present.length - 1, Math.floor(q * present.length))]!;
  return [at(0.25), at(0.75)];
}

/** 0 = no activity, 1 below the first quartile, 2 below the third, 3 at or above it. */
function level(value: number, [q1, q3]: [number, number]): number {
  if (value <= 0) return 0;
  if (value < q1) return 1;
  if (value < q3) return 2;
  return 3;
}
