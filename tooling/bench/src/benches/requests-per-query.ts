import { randomBytes } from "node:crypto";
import type { CanvasSimOptions, SimData } from "@easel/canvas-sim";
import { type Bench, type BenchContext, type Cell, OutputBuilder } from "../harness.js";
import { startSimProcess } from "../processes.js";
import { num } from "../stats.js";

/**
 * Canvas requests one GraphQL query costs, against the physical minimum computed from the
 * simulator's ground truth, and against the gateway's naive per-student resolver. The gateway
 * runs as in production, with its cross-request list cache on (default TTL): each cold count
 * uses a fresh gateway, then the same paged walk is repeated on the warm one.
 */

/** The gateway's largest `students(first:)`; a course with more students is paged with `after`. */
const PAGE = 1000;
const PER_PAGE = 100;
const ROLL_CALL = "Roll Call Attendance";
/** Ten courses of 1,000 students each pass the default query cost (graphql-armor counts `first`). */
const COST_LIMITS = { maxCost: 10_000_000 };

type Endpoint =
  | "courses"
  | "course"
  | "enrollments"
  | "summaries"
  | "assignments"
  | "submissions"
  | "rollCall";

interface Shape {
  name: string;
  /** Fields selected on each student. */
  fields: string;
  /** Canvas lists the shape needs per course, besides the course itself and the roster. */
  needs: Endpoint[];
}

const SHAPES: Shape[] = [
  { name: "grades", fields: "id name grades { currentScore finalScore currentGrade }", needs: [] },
  {
    name: "engagement",
    fields: "id engagement { pageViews participations participationsLevel lastActivityAt }",
    needs: ["summaries"],
  },
  {
    name: "attendance",
    fields: "id attendance { lastAttendedAt rollCallScore }",
    needs: ["assignments", "rollCall"],
  },
  {
    name: "submissions",
    fields: "id submissions { assignmentId score workflowState }",
    needs: ["submissions"],
  },
  {
    name: "overview (grades + attendance + engagement)",
    fields:
      "id name grades { currentScore finalScore currentGrade } attendance { lastAttendedAt rollCallScore } engagement { pageViews participations participationsLevel lastActivityAt }",
    needs: ["summaries", "assignments", "rollCall"],
  },
];

const ROUTE_ENDPOINT: Record<string, Endpoint> = {
  "GET /api/v1/courses": "courses",
  "GET /api/v1/courses/:id": "course",
  "GET /api/v1/courses/:course_id/enrollments": "enrollments",
  "GET /api/v1/courses/:course_id/analytics/student_summaries": "summaries",
  "GET /api/v1/courses/:course_id/assignments": "assignments",
  "GET /api/v1/courses/:course_id/students/submissions": "submissions",
};

const pages = (rows: number) => Math.ceil(rows / PER_PAGE);

/** Students the API lists for the course: distinct users of its student enrollments (default states). */
function rosterSize(data: SimData, courseId: number): number {
  return new Set(data.enrollments(courseId, { type: ["StudentEnrollment"] }).map((e) => e.user_id)).size;
}

/**
 * The fewest requests Canvas allows for the shape over every student of every course: per course
 * and list, ceil(rows / 100) with rows from the simulator's ground truth. Grouped submissions
 * page by student, so they cost ceil(students / 100) like the roster; Roll Call submissions
 * exist only in courses that have the Roll Call assignment.
 */
function minimumRequests(data: SimData, courseIds: number[], shape: Shape, listCourses: boolean) {
  const byEndpoint: Partial<Record<Endpoint, number>> = {};
  const add = (endpoint: Endpoint, n: number) => {
    if (n > 0) byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + n;
  };
  if (listCourses) add("courses", pages(courseIds.length));
  for (const courseId of courseIds) {
    if (!listCourses) add("course", 1);
    const enrollments = data.enrollments(courseId, { type: ["StudentEnrollment"] });
    const students = rosterSize(data, courseId);
    add("enrollments", pages(enrollments.length));
    if (shape.needs.includes("summaries")) add("summaries", pages(data.studentSummaries(courseId).length));
    const assignments = data.assignments(courseId);
    if (shape.needs.includes("assignments")) add("assignments", pages(assignments.length));
    if (shape.needs.includes("submissions")) add("submissions", pages(students));
    if (shape.needs.includes("rollCall") && assignments.some((a) => a.name === ROLL_CALL)) {
      add("rollCall", pages(students));
    }
  }
  // Roll Call rows travel on the submissions route; the simulator counts them together.
  const total = Object.values(byEndpoint).reduce((a, b) => a + b, 0);
  return { total, byEndpoint };
}

interface StudentsPage {
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  nodes: Array<{ id: string }>;
}

interface CourseNode {
  id: string;
  students: StudentsPage;
}

type GraphQLFetch = (query: string) => Promise<{ data?: Record<string, unknown>; errors?: unknown[] }>;

/**
 * Fetches the shape for every student of the courses, as a client would: one query, then (only
 * for courses over PAGE students) follow-up queries with `after`, batched as aliases.
 * Returns the number of GraphQL requests and of students received per course.
 */
async function runShape(
  fetchQuery: GraphQLFetch,
  shape: Shape,
  courseIds: number[],
  listCourses: boolean,
  afterFirst: () => Promise<void>,
) {
  const students = `students(first: ${PAGE}__AFTER__) { pageInfo { hasNextPage endCursor } nodes { ${shape.fields} } }`;
  const first = listCourses
    ? `{ courses(first: ${courseIds.length}) { nodes { id name ${students.replace("__AFTER__", "")} } } }`
    : `{ course(id: "${courseIds[0]}") { id name ${students.replace("__AFTER__", "")} } }`;
  let graphqlRequests = 0;
  const received = new Map<number, number>();
  const take = (course: CourseNode) => {
    received.set(Number(course.id), (received.get(Number(course.id)) ?? 0) + course.students.nodes.length);
    return course.students.pageInfo.hasNextPage ? course.students.pageInfo.endCursor : null;
  };
  const ask = async (query: string) => {
    graphqlRequests++;
    const body = await fetchQuery(query);
    if (body.errors?.length || !body.data) {
      throw new Error(`GraphQL errors for ${shape.name}: ${JSON.stringify(body.errors).slice(0, 500)}`);
    }
    return body.data;
  };
  const data = await ask(first);
  await afterFirst();
  const courses = listCourses ? (data.courses as { nodes: CourseNode[] }).nodes : [data.course as CourseNode];
  let cursors = new Map<number, string>();
  for (const course of courses) {
    const cursor = take(course);
    if (cursor) cursors.set(Number(course.id), cursor);
  }
  while (cursors.size > 0) {
    const aliases = [...cursors].map(
      ([id, cursor]) =>
        `c${id}: course(id: "${id}") { id ${students.replace("__AFTER__", `, after: ${JSON.stringify(cursor)}`)} }`,
    );
    const next = await ask(`{ ${aliases.join(" ")} }`);
    cursors = new Map();
    for (const value of Object.values(next)) {
      const course = value as CourseNode;
      const cursor = take(course);
      if (cursor) cursors.set(Number(course.id), cursor);
    }
  }
  return { graphqlRequests, received };
}

interface Size {
  courses: number;
  students: number;
}

export const requestsPerQueryBench: Bench = {
  name: "requests-per-query",
  issueItem: 1,
  title: "Canvas requests per GraphQL query",
  summary:
    "Canvas requests the gateway makes for 5 query shapes at 6 sizes, counted by the simulator, against the physical minimum (sum over courses and lists of ceil(rows / 100) from the simulator's ground truth) and against the gateway's naive per-student resolver.",
  requires: ["@easel/gateway", "@easel/canvas-sim", "@easel/canvas-client"],
  timeCapMs: 420_000,
  async run(ctx: BenchContext) {
    const { createGateway } = await import("@easel/gateway");
    const { createCanvasSim } = await import("@easel/canvas-sim");
    const out = new OutputBuilder();
    const smoke = ctx.size === "smoke";
    const assignmentsPerCourse = smoke ? 4 : 10;
    const sizes: Size[] = smoke
      ? [
          { courses: 1, students: 10 },
          { courses: 2, students: 30 },
        ]
      : [10, 200, 2000].flatMap((students) => [1, 10].map((courses) => ({ courses, students })));
    // Above this many requests the naive resolver is left out (it would take minutes).
    const naiveBudget = smoke ? 1_000 : 25_000;
    const apiKey = randomBytes(24).toString("hex");
    const rows: Cell[][] = [];
    const raw: unknown[] = [];
    let allAtMinimum = true;
    const misses: Array<{ cell: string; easel: number; minimum: number }> = [];
    const extraRows: Cell[][] = [];
    const naiveOneCourse = new Map<string, number>();
    const naiveSkipped: string[] = [];
    const cachedMisses: string[] = [];

    for (const size of sizes) {
      const simOptions: CanvasSimOptions = {
        seed: 7,
        courses: size.courses,
        studentsPerCourse: size.students,
        assignmentsPerCourse,
        throttle: false,
      };
      // Ground truth from an identical in-process simulator (same seed and options); the one
      // the gateway talks to runs in its own process so both get a core.
      const truth = await createCanvasSim(simOptions);
      const sim = await startSimProcess(simOptions);
      const courseIds = Array.from({ length: size.courses }, (_, i) => i + 1);
      const listCourses = size.courses > 1;
      type Gateway = ReturnType<typeof createGateway>;
      const opened: Gateway[] = [];
      /** The gateway as deployed: list cache on, default TTL; fresh, so its cache is cold. */
      const freshBatched = () => {
        const gateway = createGateway({
          mode: "service",
          canvasBaseUrl: sim.url,
          auth: sim.developerToken,
          apiKeys: [apiKey],
          logger: false,
          canvasClient: { pacing: false },
          limits: COST_LIMITS,
        });
        opened.push(gateway);
        return gateway;
      };
      // "No batching, no sharing": the naive resolver also runs without the list cache.
      const naiveGateway = createGateway({
        mode: "service",
        canvasBaseUrl: sim.url,
        auth: sim.developerToken,
        apiKeys: [apiKey],
        logger: false,
        canvasClient: { pacing: false },
        limits: COST_LIMITS,
        loaderStrategy: "naive-per-student",
        listCacheTtlSeconds: 0,
      });
      opened.push(naiveGateway);
      const fetcherFor =
        (gateway: Gateway): GraphQLFetch =>
        async (query) => {
          const response = await gateway.fetch("http://gateway.local/graphql", {
            method: "POST",
            headers: { "content-type": "application/json", authorization: `Bearer ${apiKey}` },
            body: JSON.stringify({ query }),
          });
          return (await response.json()) as { data?: Record<string, unknown>; errors?: unknown[] };
        };
      try {
        for (const shape of SHAPES) {
          const minimum = minimumRequests(truth.data, courseIds, shape, listCourses);
          const measure = async (which: string, gateway: Gateway) => {
            await sim.resetStats();
            const started = performance.now();
            let firstRequest = 0;
            const result = await runShape(fetcherFor(gateway), shape, courseIds, listCourses, async () => {
              firstRequest = (await sim.stats()).requests.total;
            });
            const stats = await sim.stats();
            for (const courseId of courseIds) {
              const expected = rosterSize(truth.data, courseId);
              if (result.received.get(courseId) !== expected) {
                throw new Error(
                  `${which} ${shape.name}: course ${courseId} returned ${result.received.get(courseId)} students, expected ${expected}`,
                );
              }
            }
            const byEndpoint: Record<string, number> = {};
            for (const [route, count] of Object.entries(stats.requests.byRoute)) {
              const endpoint = ROUTE_ENDPOINT[route] ?? route;
              byEndpoint[endpoint] = (byEndpoint[endpoint] ?? 0) + count;
            }
            return {
              canvasRequests: stats.requests.total,
              firstGraphqlRequest: firstRequest,
              graphqlRequests: result.graphqlRequests,
              byEndpoint,
              ms: performance.now() - started,
            };
          };
          // Cold: a fresh gateway. Then the same walk again on it (within the TTL): cached.
          // Then cold once more on another fresh gateway, to show the count is deterministic.
          const warmGateway = freshBatched();
          const first = await measure("batched", warmGateway);
          const cached = await measure("cached", warmGateway);
          const second = await measure("batched", freshBatched());
          // The naive count grows with courses: predicted from one course of the same size.
          const oneCourse = naiveOneCourse.get(`${shape.name}:${size.students}`);
          const naiveEstimate = oneCourse === undefined ? 0 : oneCourse * size.courses;
          const naive =
            naiveEstimate <= naiveBudget && ctx.remainingMs() > 60_000
              ? await measure("naive", naiveGateway)
              : undefined;
          if (naive && size.courses === 1)
            naiveOneCourse.set(`${shape.name}:${size.students}`, naive.canvasRequests);
          if (!naive)
            naiveSkipped.push(
              `${shape.name} at ${size.courses}×${size.students} (about ${num(naiveEstimate)} requests)`,
            );
          const atMinimum = first.canvasRequests === minimum.total && second.canvasRequests === minimum.total;
          if (cached.canvasRequests !== 0) {
            cachedMisses.push(
              `${shape.name} at ${size.courses} × ${num(size.students)}: ${cached.canvasRequests}`,
            );
          }
          if (!atMinimum) {
            allAtMinimum = false;
            misses.push({
              cell: `${shape.name} at ${size.courses} × ${num(size.students)}`,
              easel: first.canvasRequests,
              minimum: minimum.total,
            });
            // Roll Call submissions travel on the submissions route, as the simulator counts them.
            const expected: Record<string, number> = { ...minimum.byEndpoint };
            if (expected.rollCall) {
              expected.submissions = (expected.submissions ?? 0) + expected.rollCall;
              delete expected.rollCall;
            }
            for (const list of new Set([...Object.keys(expected), ...Object.keys(first.byEndpoint)])) {
              const got = first.byEndpoint[list] ?? 0;
              const want = expected[list] ?? 0;
              if (got !== want) {
                extraRows.push([shape.name, `${size.courses} × ${num(size.students)}`, list, got, want]);
              }
            }
          }
          rows.push([
            shape.name,
            `${size.courses} × ${num(size.students)}`,
            first.graphqlRequests,
            minimum.total,
            first.canvasRequests === second.canvasRequests
              ? first.canvasRequests
              : `${first.canvasRequests} / ${second.canvasRequests}`,
            atMinimum ? "yes" : "**no**",
            cached.canvasRequests === 0 ? 0 : `**${cached.canvasRequests}**`,
            naive ? naive.canvasRequests : "not run",
            naive ? `${num(naive.canvasRequests / first.canvasRequests)}×` : "—",
          ]);
          raw.push({ size, shape: shape.name, minimum, batched: [first, second], cached, naive });
          ctx.log(
            `${size.courses}x${size.students} ${shape.name}: min ${minimum.total}, easel ${first.canvasRequests}, cached ${cached.canvasRequests}, naive ${naive?.canvasRequests ?? "-"}`,
          );
        }
      } finally {
        await Promise.all(opened.map((gateway) => gateway.close()));
        await sim.close();
        await truth.close();
      }
    }

    out.table({
      title: "Canvas requests to fetch every student of every course",
      columns: [
        "query shape",
        "courses × students",
        "GraphQL requests",
        "minimum",
        "Easel",
        "Easel = minimum",
        "same walk again (cached)",
        "naive per-student",
        "naive ÷ Easel",
      ],
      rows,
      notes: [
        `Counts are exact (the simulator's request counter), so there is no spread: the Easel column is the whole walk (every GraphQL request of it) on a fresh gateway, run twice on two fresh gateways; both counts are shown when they differ. ${assignmentsPerCourse} assignments per course; throttling off.`,
        `One GraphQL query per size (\`course(id:)\` for one course, \`courses(first: N)\` for ten) asking \`students(first: ${PAGE})\`, the gateway's largest page; courses with more students are paged with \`after\` (aliases in one follow-up query), as a client would. The gateway's query cost limit is raised to ${num(COST_LIMITS.maxCost)} for these page sizes.`,
        'The gateway runs with its list cache on, as deployed (default TTL 60 s, keyed by credential): the follow-up `after` query reads the course, roster, summaries and assignments the first query fetched, and pays only for its own students\' submissions. "Same walk again (cached)": the whole paged walk repeated at once on the same gateway, within the TTL.',
        "Minimum: 1 request per course (or ceil(courses / 100) for the course list) plus, per course and list the shape needs, ceil(rows / 100) from the simulator's ground truth: student enrollments, student summaries, assignments, grouped submissions (paged by student: the roster's students), Roll Call submissions (only courses that have the Roll Call assignment).",
        `Naive per-student: the gateway's \`loaderStrategy: "naive-per-student"\` (one request per student per list, list cache off); left out where one course's count times the courses passes ${num(naiveBudget)} requests (it runs about 1,000 requests/s here).`,
      ],
    });
    out.goal(
      "Exactly the minimum number of Canvas requests for every shape and size",
      allAtMinimum,
      allAtMinimum
        ? `All ${rows.length} shape × size cells equal the minimum.`
        : `${misses.length} of ${rows.length} cells are above the minimum, at ${num(Math.min(...misses.map((m) => m.easel / m.minimum)))}–${num(Math.max(...misses.map((m) => m.easel / m.minimum)))}× it: ${misses.map((m) => `${m.cell} ${m.easel} vs ${m.minimum}`).join("; ")}. Where the extra requests go: the second table.`,
    );
    out.goal(
      "A query repeated within the list cache's TTL costs no Canvas request",
      cachedMisses.length === 0,
      cachedMisses.length === 0
        ? `All ${rows.length} repeated walks cost 0 Canvas requests.`
        : `${cachedMisses.length} of ${rows.length} repeated walks still reached Canvas: ${cachedMisses.join("; ")}.`,
    );
    if (extraRows.length > 0) {
      out.table({
        title: "Where Easel is above the minimum: requests per Canvas list",
        columns: ["query shape", "courses × students", "Canvas list", "Easel", "minimum"],
        rows: extraRows,
        notes: [
          "`course`: GET /courses/:id (the follow-up query asks for each course by id); Roll Call submissions are counted with submissions (same route).",
        ],
      });
    }
    const missSizes = raw.filter((cell) => {
      const c = cell as {
        size: Size;
        minimum: { total: number };
        batched: Array<{ canvasRequests: number }>;
      };
      return c.batched[0]!.canvasRequests !== c.minimum.total;
    });
    if (missSizes.length > 0 && missSizes.every((cell) => (cell as { size: Size }).size.students > PAGE)) {
      out.note(
        `Every cell above the minimum has more students per course than one page of \`students\` (${PAGE}): the client needs a second GraphQL request, and the lists the first one walked were not reused from the gateway's list cache.`,
      );
    }
    if (naiveSkipped.length > 0) out.note(`Naive resolver not run (time): ${naiveSkipped.join("; ")}.`);
    out.data.cells = raw;
    return out.build();
  },
};
