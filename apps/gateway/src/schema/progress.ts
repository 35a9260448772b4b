import { setTimeout as sleep } from "node:timers/promises";
import type { Progress } from "@easel/canvas-client";
import type { GatewayContext } from "../context.js";
import { badInput } from "../errors.js";
import { builder } from "./builder.js";
import { canvasId } from "./ids.js";

export const ProgressStateRef = builder.enumType("ProgressState", {
  values: {
    QUEUED: { value: "queued" },
    RUNNING: { value: "running" },
    COMPLETED: { value: "completed" },
    FAILED: { value: "failed" },
  } as const,
});

const DONE = new Set(["completed", "failed"]);

/**
 * A bulk grade update this gateway started changed its course when it finished: drop the
 * course's cached lists (once), so reads cached while it ran do not outlive it.
 */
function observed(progress: Progress, ctx: GatewayContext): Progress {
  if (DONE.has(progress.workflow_state)) {
    ctx.lists.jobDone(progress.id);
    void ctx.invalidateResponses();
  }
  return progress;
}

export const ProgressRef = builder.objectRef<Progress>("Progress").implement({
  description:
    "A Canvas background job (e.g. a bulk grade update). Poll `progress(id)` or subscribe until `done`. A FAILED bulk grade update may be a partial success: see `message`.",
  fields: (t) => ({
    id: t.exposeID("id", { nullable: false }),
    workflowState: t.field({
      type: ProgressStateRef,
      nullable: false,
      resolve: (p) => p.workflow_state,
    }),
    done: t.boolean({ nullable: false, resolve: (p) => DONE.has(p.workflow_state) }),
    completion: t.float({ nullable: true, description: "0 to 100.", resolve: (p) => p.completion ?? null }),
    message: t.string({ nullable: true, resolve: (p) => p.message ?? null }),
    tag: t.string({ nullable: true, resolve: (p) => p.tag ?? null }),
    createdAt: t.field({ type: "DateTime", nullable: true, resolve: (p) => p.created_at ?? null }),
    updatedAt: t.field({ type: "DateTime", nullable: true, resolve: (p) => p.updated_at ?? null }),
  }),
});

/** How often the subscription polls Canvas, and for how long at most. */
const POLL_MS = 1_000;
const MAX_POLL_MS = 10 * 60_000;

builder.queryField("progress", (t) =>
  t.field({
    type: ProgressRef,
    nullable: true,
    args: { id: t.arg.id({ required: true }) },
    resolve: async (_root, args, ctx) =>
      observed(await ctx.canvas.progress(canvasId(args.id, "id"), ctx.signal), ctx),
  }),
);

builder.subscriptionField("progress", (t) =>
  t.field({
    type: ProgressRef,
    nullable: false,
    description: "The job's state, polled every second until it is done (at most 10 minutes).",
    args: {
      id: t.arg.id({ required: true }),
      intervalMs: t.arg.int({
        required: false,
        description: "Poll interval, 200 to 10000 ms. Default 1000.",
      }),
    },
    subscribe: async function* (_root, args, ctx) {
      const id = canvasId(args.id, "id");
      const interval = args.intervalMs ?? POLL_MS;
      if (interval < 200 || interval > 10_000) throw badInput("intervalMs must be from 200 to 10000");
      const deadline = Date.now() + MAX_POLL_MS;
      for (;;) {
        const progress = observed(await ctx.canvas.progress(id, ctx.requestSignal), ctx);
        yield progress;
        if (DONE.has(progress.workflow_state) || Date.now() > deadline) return;
        await sleep(interval, undefined, { signal: ctx.requestSignal });
      }
    },
    resolve: (progress: Progress) => progress,
  }),
);
