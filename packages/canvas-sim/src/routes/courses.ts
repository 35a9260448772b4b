import { isoSeconds } from "../clock.js";
import type { CourseInfo } from "../data/catalog.js";
import {
  assignmentJson,
  courseEnrollmentSummary,
  courseJson,
  enrollmentJson,
  termJson,
  userJson,
} from "../data/json.js";
import type { SimModel } from "../data/model.js";
import {
  ENROLLMENT_STATES,
  ENROLLMENT_TYPES,
  type EnrollmentState,
  type EnrollmentType,
  type UserInfo,
} from "../data/people.js";
import { badRequest, json, notFound, type Reply } from "../http/reply.js";
import {
  ANYONE_IN_COURSE,
  accessTo,
  courseParam,
  GRADERS,
  parseId,
  type RequestContext,
  type RouteDef,
  requireAccess,
  type SimRuntime,
  unauthorized,
} from "../runtime.js";
import { includes, ordinalPage } from "./common.js";

const SHORT_TYPES: Record<string, EnrollmentType> = {
  student: "StudentEnrollment",
  ta: "TaEnrollment",
  teacher: "TeacherEnrollment",
};

function courseOptions(ctx: RequestContext) {
  const include = includes(ctx);
  return { includeTerm: include.has("term"), totalStudents: include.has("total_students") };
}

/** GET /api/v1/courses — the caller's courses (every course for the admin functional user). */
function listCourses(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const user = ctx.user!;
  const stateFilter = ctx.params.getAll("state");
  const enrollmentType = ctx.params.get("enrollment_type");
  const enrollmentState = ctx.params.get("enrollment_state");
  let courseIds: number[];
  if (user.id === rt.model.people.adminUserId) courseIds = rt.model.catalog.courseIds();
  else {
    courseIds = rt.model.people.userCourseIds(user.id).filter((courseId) => {
      const enrollment = rt.model.people.enrollmentFor(courseId, user.id)!;
      if (enrollmentType && SHORT_TYPES[enrollmentType] !== enrollment.type) return false;
      if (enrollmentState === "active") return enrollment.state === "active";
      if (enrollmentState === "invited_or_pending") return enrollment.state === "invited";
      if (enrollmentState === "completed") return enrollment.state === "completed";
      return enrollment.state === "active" || enrollment.state === "invited";
    });
  }
  courseIds = courseIds.filter((courseId) => !rt.forbidden.has(`${user.id}:${courseId}`));
  // Every simulated course is "available".
  if (stateFilter.length > 0 && !stateFilter.includes("available")) courseIds = [];
  const options = courseOptions(ctx);
  return ordinalPage(ctx, courseIds.length, (start, end) =>
    courseIds.slice(start, end).map((courseId) => {
      const enrollment = rt.model.people.enrollmentFor(courseId, user.id);
      return courseJson(rt.model, rt.model.catalog.course(courseId)!, ctx.base, {
        ...options,
        enrollments: enrollment ? [courseEnrollmentSummary(enrollment)] : [],
      });
    }),
  );
}

/** GET /api/v1/courses/:id */
function showCourse(ctx: RequestContext): Reply {
  const course = courseParam(ctx, "id");
  requireAccess(ctx, course.id, ANYONE_IN_COURSE);
  const enrollment = ctx.rt.model.people.enrollmentFor(course.id, ctx.user!.id);
  return json(
    200,
    courseJson(ctx.rt.model, course, ctx.base, {
      ...courseOptions(ctx),
      enrollments: enrollment ? [courseEnrollmentSummary(enrollment)] : [],
    }),
  );
}

function requireAdmin(ctx: RequestContext): void {
  if (ctx.user!.id !== ctx.rt.model.people.adminUserId) throw unauthorized(ctx.rt);
}

function accountJson(rt: SimRuntime, id: number): Record<string, unknown> {
  const account = rt.model.catalog.account(id)!;
  return {
    id: account.id,
    name: account.name,
    workflow_state: "active",
    parent_account_id: account.parentAccountId,
    root_account_id: account.rootAccountId,
    uuid: `acct${String(account.id).padStart(36, "0")}`,
    default_storage_quota_mb: 500,
    default_user_storage_quota_mb: 50,
    default_group_storage_quota_mb: 50,
    default_time_zone: "America/Denver",
    sis_account_id: account.sisAccountId,
    integration_id: null,
    sis_import_id: null,
  };
}

function accountParam(ctx: RequestContext, name: string): number {
  const raw = ctx.routeParams[name];
  if (raw === "self") return 1;
  const id = parseId(raw);
  if (id === null || !ctx.rt.model.catalog.account(id)) throw notFound();
  return id;
}

/** GET /api/v1/accounts — accounts the caller administers (the root account, for the admin). */
function listAccounts(ctx: RequestContext): Reply {
  const ids = ctx.user!.id === ctx.rt.model.people.adminUserId ? [1] : [];
  return ordinalPage(ctx, ids.length, (start, end) =>
    ids.slice(start, end).map((id) => accountJson(ctx.rt, id)),
  );
}

function showAccount(ctx: RequestContext): Reply {
  const id = accountParam(ctx, "id");
  requireAdmin(ctx);
  return json(200, accountJson(ctx.rt, id));
}

function subAccounts(ctx: RequestContext): Reply {
  const id = accountParam(ctx, "account_id");
  requireAdmin(ctx);
  const ids = ctx.rt.model.catalog
    .accounts()
    .filter((account) => account.parentAccountId === id)
    .map((account) => account.id);
  return ordinalPage(ctx, ids.length, (start, end) =>
    ids.slice(start, end).map((sub) => accountJson(ctx.rt, sub)),
  );
}

/** GET /api/v1/accounts/:account_id/terms → `{"enrollment_terms": [...]}`. */
function listTerms(ctx: RequestContext): Reply {
  accountParam(ctx, "account_id");
  requireAdmin(ctx);
  const terms = ctx.rt.model.catalog.terms();
  const reply = ordinalPage(ctx, terms.length, (start, end) => terms.slice(start, end).map(termJson));
  return { ...reply, body: `{"enrollment_terms":${reply.body}}` };
}

function termParam(model: SimModel, raw: string | undefined): number | null | undefined {
  if (raw === undefined || raw === "") return undefined;
  if (raw.startsWith("sis_term_id:")) {
    const sis = raw.slice("sis_term_id:".length);
    return model.catalog.terms().find((term) => term.sisTermId === sis)?.id ?? null;
  }
  return parseId(raw);
}

/** GET /api/v1/accounts/:account_id/courses — filters enrollment_term_id, state[], search_term, with_enrollments. */
function accountCourses(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const accountId = accountParam(ctx, "account_id");
  requireAdmin(ctx);
  const tree = new Set(rt.model.catalog.accountTree(accountId));
  const termId = termParam(rt.model, ctx.params.get("enrollment_term_id"));
  const states = ctx.params.getAll("state");
  const search = ctx.params.get("search_term");
  if (search !== undefined && search.length < 2) {
    throw badRequest({
      errors: [{ field: "search_term", message: "2 or more characters is required", error_code: null }],
    });
  }
  const withEnrollments = ctx.params.get("with_enrollments");
  let courses: CourseInfo[] = rt.model.catalog
    .courseIds()
    .map((id) => rt.model.catalog.course(id)!)
    .filter((course) => tree.has(course.accountId));
  if (termId !== undefined) courses = courses.filter((course) => course.termId === termId);
  if (states.length > 0 && !states.includes("available") && !states.includes("all")) courses = [];
  if (withEnrollments === "false") courses = [];
  if (search) {
    const needle = search.toLowerCase();
    courses = courses.filter(
      (course) =>
        course.name.toLowerCase().includes(needle) || course.courseCode.toLowerCase().includes(needle),
    );
  }
  courses = courses.filter((course) => !rt.forbidden.has(`${ctx.user!.id}:${course.id}`));
  const options = courseOptions(ctx);
  // Canvas skips the (expensive) count here, so there is no rel="last" (UNCONFIRMED).
  return ordinalPage(
    ctx,
    courses.length,
    (start, end) =>
      courses.slice(start, end).map((course) => courseJson(rt.model, course, ctx.base, options)),
    { omitLast: true },
  );
}

function parseTypes(values: string[]): Set<EnrollmentType> | null {
  if (values.length === 0) return null;
  const types = new Set<EnrollmentType>();
  for (const value of values) {
    const type = (ENROLLMENT_TYPES as readonly string[]).includes(value)
      ? (value as EnrollmentType)
      : SHORT_TYPES[value];
    if (type) types.add(type);
  }
  return types;
}

function parseStates(values: string[], fallback: readonly EnrollmentState[]): Set<EnrollmentState> {
  if (values.length === 0) return new Set(fallback);
  const states = new Set<EnrollmentState>();
  for (const value of values) {
    if ((ENROLLMENT_STATES as readonly string[]).includes(value)) states.add(value as EnrollmentState);
    if (value === "current_and_invited") {
      states.add("active");
      states.add("invited");
    }
    if (value === "current_and_concluded") {
      states.add("active");
      states.add("completed");
    }
  }
  return states;
}

/** Canvas's default `state[]`: active + invited; account admins also see inactive. */
export function defaultEnrollmentStates(isAdmin: boolean): readonly EnrollmentState[] {
  return isAdmin ? ["active", "invited", "inactive"] : ["active", "invited"];
}

function userIdParam(ctx: RequestContext, raw: string | undefined): number | null {
  if (raw === undefined) return null;
  if (raw === "self") return ctx.user!.id;
  if (raw.startsWith("sis_user_id:"))
    return ctx.rt.model.people.userBySis(raw.slice("sis_user_id:".length))?.id ?? -1;
  return parseId(raw) ?? -1;
}

/** GET /api/v1/courses/:course_id/enrollments */
function listEnrollments(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  const access = accessTo(rt, ctx.user!.id, course.id);
  const userId = userIdParam(ctx, ctx.params.get("user_id"));
  if (access === "student" || access === null) {
    // Students cannot read the roster; anyone may ask for their own enrollments (possibly none).
    if (userId !== ctx.user!.id) throw unauthorized(rt);
  }
  const types = parseTypes([...ctx.params.getAll("type"), ...ctx.params.getAll("role")]);
  const states = parseStates(ctx.params.getAll("state"), defaultEnrollmentStates(access === "admin"));
  const slots = rt.model.people.enrollmentSlots(course.id, types, states, userId);
  const grader = access === "admin" || access === "staff";
  const currentPoints = includes(ctx).has("current_points");
  return ordinalPage(ctx, slots.length, (start, end) => {
    const rows: unknown[] = [];
    for (let i = start; i < end; i++) {
      const enrollment = rt.model.people.enrollmentAtSlot(course.id, slots[i]!);
      rows.push(enrollmentJson(rt.model, enrollment, ctx.base, { grader, currentPoints }));
    }
    return rows;
  });
}

/** Users of a course (one row per user) filtered by enrollment type and state, in name order. */
function courseUserSlots(
  model: SimModel,
  courseId: number,
  types: Set<EnrollmentType> | null,
  states: Set<EnrollmentState>,
): number[] {
  const result: number[] = [];
  const staff = model.people.staffPerCourse;
  for (const slot of model.people.userOrder(courseId)) {
    let type: EnrollmentType;
    let state: EnrollmentState;
    if (slot < staff) {
      type = slot < model.config.teachersPerCourse ? "TeacherEnrollment" : "TaEnrollment";
      state = "active";
    } else {
      type = "StudentEnrollment";
      state = model.people.studentState(courseId, slot - staff);
    }
    if ((!types || types.has(type)) && states.has(state)) result.push(slot);
  }
  return result;
}

/** GET /api/v1/courses/:course_id/users — enrollment_type[], enrollment_state[], include[]=email|enrollments. */
function listCourseUsers(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const types = parseTypes(ctx.params.getAll("enrollment_type"));
  const states = parseStates(ctx.params.getAll("enrollment_state"), ["active", "invited"]);
  let slots = courseUserSlots(rt.model, course.id, types, states);
  const onlyIds = [
    ...ctx.params.getAll("user_ids"),
    ...(ctx.params.get("user_id") ? [ctx.params.get("user_id")!] : []),
  ];
  if (onlyIds.length > 0) {
    const wanted = new Set(onlyIds.map(Number));
    slots = slots.filter((slot) => wanted.has(rt.model.people.enrollmentAtSlot(course.id, slot).userId));
  }
  const search = ctx.params.get("search_term");
  if (search) {
    const needle = search.toLowerCase();
    slots = slots.filter((slot) => {
      const user = rt.model.people.user(rt.model.people.enrollmentAtSlot(course.id, slot).userId)!;
      return user.name.toLowerCase().includes(needle) || user.loginId.includes(needle);
    });
  }
  const include = includes(ctx);
  return ordinalPage(ctx, slots.length, (start, end) =>
    slots.slice(start, end).map((slot) => {
      const enrollment = rt.model.people.enrollmentAtSlot(course.id, slot);
      const user = rt.model.people.user(enrollment.userId) as UserInfo;
      const body = userJson(user, { sis: true, email: include.has("email") });
      if (include.has("enrollments")) {
        body.enrollments = [enrollmentJson(rt.model, enrollment, ctx.base, { grader: true })];
      }
      return body;
    }),
  );
}

/** PUT /api/v1/courses/:course_id/users/:user_id/last_attended → `{"date": iso}`. */
function lastAttended(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  requireAccess(ctx, course.id, GRADERS);
  const raw = ctx.params.get("date");
  const parsed = raw === undefined || raw.trim() === "" ? Number.NaN : Date.parse(raw);
  if (Number.isNaN(parsed)) throw badRequest({ message: "Invalid date time input" });
  const userId = userIdParam(ctx, ctx.routeParams.user_id);
  // Canvas updates every enrollment of that user in the course; none is not an error.
  if (userId !== null && userId > 0 && rt.model.people.enrollmentFor(course.id, userId)) {
    rt.model.people.setLastAttended(course.id, userId, Math.floor(parsed / 1000) * 1000);
  }
  return json(200, { date: isoSeconds(parsed) });
}

/** Assignment indexes in Canvas's list order: assignment group position, then position. */
function assignmentOrder(model: SimModel, courseId: number): number[] {
  return model.assignments.inListOrder(courseId).map((assignment) => assignment.index);
}

/** GET /api/v1/courses/:course_id/assignments */
function listAssignments(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  const access = requireAccess(ctx, course.id, ANYONE_IN_COURSE);
  const order = assignmentOrder(rt.model, course.id);
  const assignments = rt.model.assignments.ofCourse(course.id);
  return ordinalPage(ctx, order.length, (start, end) => {
    const counts = access === "student" ? null : rt.model.submissions.needsGrading(course.id);
    return order
      .slice(start, end)
      .map((index) =>
        assignmentJson(rt.model, assignments[index]!, ctx.base, counts ? counts[index] : undefined),
      );
  });
}

/** GET /api/v1/courses/:course_id/assignments/:id */
function showAssignment(ctx: RequestContext): Reply {
  const { rt } = ctx;
  const course = courseParam(ctx);
  const access = requireAccess(ctx, course.id, ANYONE_IN_COURSE);
  const id = parseId(ctx.routeParams.id);
  const index = id === null ? -1 : rt.model.assignments.index(course.id, id);
  if (index === -1) throw notFound();
  const count = access === "student" ? undefined : rt.model.submissions.needsGrading(course.id)[index];
  return json(
    200,
    assignmentJson(rt.model, rt.model.assignments.ofCourse(course.id)[index]!, ctx.base, count),
  );
}

export function courseRoutes(): RouteDef[] {
  return [
    { method: "GET", template: "/api/v1/courses", auth: true, handler: listCourses },
    { method: "GET", template: "/api/v1/courses/:id", auth: true, handler: showCourse },
    { method: "GET", template: "/api/v1/accounts", auth: true, handler: listAccounts },
    { method: "GET", template: "/api/v1/accounts/:id", auth: true, handler: showAccount },
    {
      method: "GET",
      template: "/api/v1/accounts/:account_id/sub_accounts",
      auth: true,
      handler: subAccounts,
    },
    { method: "GET", template: "/api/v1/accounts/:account_id/terms", auth: true, handler: listTerms },
    { method: "GET", template: "/api/v1/accounts/:account_id/courses", auth: true, handler: accountCourses },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/enrollments",
      auth: true,
      handler: listEnrollments,
    },
    { method: "GET", template: "/api/v1/courses/:course_id/users", auth: true, handler: listCourseUsers },
    {
      method: "PUT",
      template: "/api/v1/courses/:course_id/users/:user_id/last_attended",
      auth: true,
      handler: lastAttended,
    },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/assignments",
      auth: true,
      handler: listAssignments,
    },
    {
      method: "GET",
      template: "/api/v1/courses/:course_id/assignments/:id",
      auth: true,
      handler: showAssignment,
    },
  ];
}
