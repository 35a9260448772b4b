import { resolveArrayConnection } from "@pothos/plugin-relay";
import {
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  GraphQLIncludeDirective,
  type GraphQLObjectType,
  type GraphQLSchema,
  GraphQLSkipDirective,
  getArgumentValues,
  getDirectiveValues,
  getNamedType,
  getOperationAST,
  getVariableValues,
  isAbstractType,
  isObjectType,
  Kind,
  type OperationDefinitionNode,
  type SelectionSetNode,
} from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GatewayContext } from "./context.js";
import { studentKey, submissionsKey } from "./loader-keys.js";
import { perStudentIsCheaper } from "./loaders.js";
import { ResponseCache, responseCacheNote } from "./response-cache.js";

/**
 * The planner: after validation, before execution, it walks the operation's selection set
 * (fragments, aliases, variables, `@include`/`@skip`) and starts every Canvas list the resolvers
 * will ask for, through the same per-request loaders (so the resolvers find them in flight, and
 * the list cache and DataLoader batching decide the requests exactly as before). Without it the
 * lists start level by level as resolvers reach them: course, then roster, then summaries and
 * assignments, then submissions, four round trips where two do (everything independent at once,
 * then the submissions that need the roster's student ids and the Roll Call assignment's id).
 *
 * Speculation: a page of students that may hold two or more wants the course's whole summaries
 * walk (`perStudentIsCheaper`), so it is started with the roster when the roster size is not known
 * yet. It costs one request more than the minimum only for a course with no student, or with more
 * than 100 × the page size (when per-student requests would be cheaper); when the roster is in the
 * list cache the choice is exact.
 */

/** Connection page sizes: the schema's (course.ts). */
const PAGE = { defaultSize: 100, maxSize: 1000 } as const;

/** What the students of a page need, beyond their roster row. */
interface StudentNeeds {
  summary: boolean;
  rollCall: boolean;
  /** Submissions fields' `assignmentIds` (sorted distinct ids; [] for all). */
  submissions: number[][];
}

interface Walk {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  ctx: GatewayContext;
}

const ignore = () => {};

function canvasIdOf(value: unknown): number | undefined {
  const text = String(value);
  return /^[1-9]\d{0,15}$/.test(text) && Number.isSafeInteger(Number(text)) ? Number(text) : undefined;
}

/** The fields of `selectionSet` that apply to `type`, with their definitions (aliases kept apart). */
function* fieldsOf(
  walk: Walk,
  type: GraphQLObjectType,
  selectionSet: SelectionSetNode | undefined,
): Generator<{ name: string; def: GraphQLField<unknown, unknown>; node: FieldNode }> {
  if (!selectionSet) return;
  for (const selection of selectionSet.selections) {
    if (!included(walk, selection)) continue;
    if (selection.kind === Kind.FIELD) {
      const def = type.getFields()[selection.name.value];
      if (def) yield { name: selection.name.value, def, node: selection };
    } else if (selection.kind === Kind.INLINE_FRAGMENT) {
      if (applies(walk, type, selection.typeCondition?.name.value)) {
        yield* fieldsOf(walk, type, selection.selectionSet);
      }
    } else {
      const fragment = walk.fragments[selection.name.value];
      if (fragment && applies(walk, type, fragment.typeCondition.name.value)) {
        yield* fieldsOf(walk, type, fragment.selectionSet);
      }
    }
  }
}

function included(walk: Walk, node: Parameters<typeof getDirectiveValues>[1]): boolean {
  if (getDirectiveValues(GraphQLSkipDirective, node, walk.variables)?.if === true) return false;
  return getDirectiveValues(GraphQLIncludeDirective, node, walk.variables)?.if !== false;
}

function applies(walk: Walk, type: GraphQLObjectType, condition: string | undefined): boolean {
  if (!condition || condition === type.name) return true;
  const conditionType = walk.schema.getType(condition);
  return conditionType !== undefined && isAbstractType(conditionType)
    ? walk.schema.isSubType(conditionType, type)
    : false;
}

function argsOf(walk: Walk, def: GraphQLField<unknown, unknown>, node: FieldNode) {
  return getArgumentValues(def, node, walk.variables);
}

/** The object type of a field (through lists and non-null), if it is one. */
function objectTypeOf(def: GraphQLField<unknown, unknown>): GraphQLObjectType | undefined {
  const named = getNamedType(def.type);
  return isObjectType(named) ? named : undefined;
}

/** The `nodes` and `edges { node }` selections of a connection field, as (type, selection) pairs. */
function* connectionNodes(
  walk: Walk,
  connection: GraphQLObjectType,
  selectionSet: SelectionSetNode | undefined,
) {
  for (const { name, def, node } of fieldsOf(walk, connection, selectionSet)) {
    const type = objectTypeOf(def);
    if (!type) continue;
    if (name === "nodes") yield { type, selectionSet: node.selectionSet };
    else if (name === "edges") {
      for (const edgeField of fieldsOf(walk, type, node.selectionSet)) {
        const nodeType = objectTypeOf(edgeField.def);
        if (edgeField.name === "node" && nodeType)
          yield { type: nodeType, selectionSet: edgeField.node.selectionSet };
      }
    }
  }
}

function studentNeeds(
  walk: Walk,
  student: GraphQLObjectType,
  selectionSet: SelectionSetNode | undefined,
  needs: StudentNeeds,
): void {
  for (const { name, def, node } of fieldsOf(walk, student, selectionSet)) {
    const type = objectTypeOf(def);
    if (name === "submissions") {
      const ids = (argsOf(walk, def, node).assignmentIds as unknown[] | null | undefined) ?? [];
      const parsed = ids.map(canvasIdOf);
      // A bad id fails in the resolver; nothing to start for it.
      if (parsed.some((id) => id === undefined)) continue;
      needs.submissions.push(submissionsKey(0, 0, parsed as number[]).assignmentIds as number[]);
    } else if (name === "attendance" && type) {
      for (const f of fieldsOf(walk, type, node.selectionSet)) {
        if (f.name === "rollCallScore" || f.name === "rollCallGrade") needs.rollCall = true;
      }
    } else if (name === "engagement" && type) {
      for (const f of fieldsOf(walk, type, node.selectionSet)) {
        if (f.name !== "lastActivityAt" && f.name !== "totalActivityTime" && f.name !== "__typename") {
          needs.summary = true;
        }
      }
    }
  }
}

/** Starts what one student's fields need (their key is known). */
function startForStudent(
  ctx: GatewayContext,
  courseId: number,
  studentId: number,
  needs: StudentNeeds,
): void {
  const key = studentKey(courseId, studentId);
  if (needs.summary) ctx.loaders.summary.load(key).catch(ignore);
  if (needs.rollCall) ctx.loaders.rollCall.load(key).catch(ignore);
  for (const ids of needs.submissions) {
    ctx.loaders.submissions.load(submissionsKey(courseId, studentId, ids)).catch(ignore);
  }
}

function planCourse(
  walk: Walk,
  course: GraphQLObjectType,
  courseId: number,
  selectionSet: SelectionSetNode | undefined,
): void {
  const { ctx } = walk;
  for (const { name, def, node } of fieldsOf(walk, course, selectionSet)) {
    const type = objectTypeOf(def);
    if (name === "assignments" || name === "rollCallAssignment") {
      ctx.loaders.assignments.load(courseId).catch(ignore);
    } else if (name === "students" && type) {
      const args = argsOf(walk, def, node);
      const needs: StudentNeeds = { summary: false, rollCall: false, submissions: [] };
      for (const nodes of connectionNodes(walk, type, node.selectionSet)) {
        studentNeeds(walk, nodes.type, nodes.selectionSet, needs);
      }
      const roster = ctx.loaders.roster.load(courseId);
      roster.catch(ignore);
      if (needs.rollCall) ctx.loaders.assignments.load(courseId).catch(ignore);
      if (needs.summary) {
        const known = ctx.lists.peek<readonly unknown[]>(courseId, "roster");
        const pageSize = Math.min(
          PAGE.maxSize,
          (args.first as number | null | undefined) ??
            (args.last as number | null | undefined) ??
            PAGE.defaultSize,
        );
        // Exact when the roster is cached; otherwise as the page's largest possible size decides.
        const wanted = known ? pageOf(args, known).length : pageSize;
        if (!perStudentIsCheaper(wanted, known?.length)) ctx.loaders.summaries.load(courseId).catch(ignore);
      }
      if (needs.rollCall || needs.submissions.length > 0 || needs.summary) {
        // The students of the page, as the resolver will slice them, the moment the roster is here.
        roster.then((rows) => {
          for (const row of pageOf(args, rows)) startForStudent(ctx, courseId, row.user_id, needs);
        }, ignore);
      }
    } else if (name === "student" && type) {
      const studentId = canvasIdOf(argsOf(walk, def, node).id);
      if (studentId === undefined) continue;
      ctx.loaders.enrollment.load(studentKey(courseId, studentId)).catch(ignore);
      const needs: StudentNeeds = { summary: false, rollCall: false, submissions: [] };
      studentNeeds(walk, type, node.selectionSet, needs);
      startForStudent(ctx, courseId, studentId, needs);
    }
  }
}

/** The connection page `resolveArrayConnection` gives for `args` (the resolver's own slicing). */
function pageOf<T>(args: Record<string, unknown>, rows: readonly T[]): T[] {
  try {
    const connection = resolveArrayConnection({ args, ...PAGE }, rows as T[]);
    return (connection?.edges ?? []).flatMap((edge) => (edge ? [edge.node] : []));
  } catch {
    // Bad paging arguments: the resolver answers them with an error, and starts nothing.
    return [];
  }
}

/** Starts every list `operation` needs; returns whether its answer may go to the response cache. */
export function planOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | undefined,
  ctx: GatewayContext,
): boolean {
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  // Execution reports bad variables itself.
  if (coerced.errors || !coerced.coerced) return false;
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments[definition.name.value] = definition;
  }
  const walk: Walk = { schema, fragments, variables: coerced.coerced, ctx };
  const root = operation.operation === "query" ? schema.getQueryType() : undefined;
  if (!root) return false;
  const rootNames: string[] = [];
  for (const { name, def, node } of fieldsOf(walk, root, operation.selectionSet)) {
    rootNames.push(name);
    const type = objectTypeOf(def);
    if (!type) continue;
    if (name === "course") {
      const courseId = canvasIdOf(argsOf(walk, def, node).id);
      if (courseId === undefined) continue;
      ctx.loaders.course.load(courseId).catch(ignore);
      planCourse(walk, type, courseId, node.selectionSet);
    } else if (name === "courses") {
      const args = argsOf(walk, def, node);
      const courses = ctx.loaders.courses.load("mine");
      courses.then((list) => {
        const page = pageOf(args, list);
        for (const nodes of connectionNodes(walk, type, node.selectionSet)) {
          for (const course of page) planCourse(walk, nodes.type, course.id, nodes.selectionSet);
        }
      }, ignore);
    }
  }
  return ResponseCache.cacheableRootFields(rootNames);
}

/**
 * Runs the planner on every operation (after validation, when the context is built), marks the
 * cacheable queries for the response cache, and drops every stored answer after a mutation.
 */
export function usePlanner(responseCache: ResponseCache | undefined): Plugin {
  return {
    onExecute({ args }) {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return undefined;
      const ctx = args.contextValue as unknown as GatewayContext & { request?: Request };
      if (operation.operation === "mutation") {
        if (!responseCache) return undefined;
        // After the write: answers computed before it are never served again (see response-cache.ts).
        return { onExecuteDone: () => void responseCache.invalidateAll() };
      }
      let cacheable = false;
      try {
        cacheable = planOperation(
          args.schema,
          args.document,
          operation,
          args.variableValues as Record<string, unknown> | undefined,
          ctx,
        );
      } catch (error) {
        // The plan only starts work early: execution still does (and reports) everything.
        ctx.log.warn({ err: error }, "planner failed; lists start as resolvers reach them");
      }
      if (ctx.request && cacheable) responseCacheNote(ctx.request).cacheable = true;
      return undefined;
    },
  };
}
