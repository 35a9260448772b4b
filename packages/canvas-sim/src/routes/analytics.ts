import { json, notFound, type Reply } from "../http/reply.js";
import {
  accessTo,
  courseParam,
  GRADERS,
  parseId,
  type RequestContext,
  type RouteDef,
  requireAccess,
  unauthorized,
} from "../runtime.js";
import { ordinalPage } from "./common.js";

const SORT_COLUMNS = new Set([
  "name",
  "name_descending",
  "score",
  "score_descending",
  "participations",
  "participations_descending",
  "page_views",
  "page_views_descending",
]);

/** The analytics plugin's gate: 404 when the service is disabled (analytics_api_controller.rb). */
function requireAnalytics(ctx: RequestContext): void {
  if (!ctx.rt.analyticsEnabled) throw notFound();
}

/** GET /api/v1/courses/:course_id/analytics/student_summaries — sort_column, student_id; numeric pages. */
function studentSummaries(ctx: RequestContext): Reply {
  requireAnalytics(ctx);
  const { model } = ctx.rt;
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const sortParam = ctx.params.get("sort_column") ?? "name";
  const sortColumn = SORT_COLUMNS.has(sortParam) ? sortParam : "name";
  const studentId = ctx.params.get("student_id");
  let order: Int32Array;
  if (studentId !== undefined) {
    const index = model.people.studentIndex(course.id, parseId(studentId) ?? -1);
    order = index === -1 ? new Int32Array(0) : Int32Array.of(index);
  } else order = model.analytics.summaryOrder(course.id, sortColumn);
  return ordinalPage(ctx, order.length, (start, end) => {
    const rows: unknown[] = [];
    for (let i = start; i < end; i++) rows.push(model.analytics.studentSummary(course.id, order[i]!));
    return rows;
  });
}

/**
 * GET /api/v1/courses/:course_id/analytics/users/:student_id/activity — page views keyed by ISO hour
 * bucket and participations oldest first, generated from the seed over the 14 days before the clock start.
 */
function studentActivity(ctx: RequestContext): Reply {
  requireAnalytics(ctx);
  const { rt } = ctx;
  const { model } = rt;
  const course = courseParam(ctx);
  const access = accessTo(rt, ctx.user!.id, course.id);
  const userId = parseId(ctx.routeParams.student_id) ?? -1;
  const index = model.people.studentIndex(course.id, userId);
  if (index === -1) throw notFound();
  if (access === null || (access === "student" && userId !== ctx.user!.id)) throw unauthorized(rt);
  return json(200, model.analytics.activity(course.id, index, ctx.base));
}

export function analyticsRoutes(): RouteDef[] {
  return [
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/analytics/student_summaries",
      auth: true,
      handler: studentSummaries,
    },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/analytics/users/:student_id/activity",
      auth: true,
      handler: studentActivity,
    },
  ];
}
