import { isoSeconds } from "./clock.js";
import type { SimModel } from "./data/model.js";

export interface GradeChange {
  assignmentIndex: number;
  studentIndex: number;
  score: number | null;
  excused: boolean;
}

export type ProgressState = "queued" | "running" | "completed" | "failed";

interface Job {
  id: number;
  courseId: number;
  userId: number | null;
  graderId: number | null;
  tag: string;
  createdAt: number;
  startsAt: number;
  endsAt: number;
  changes: GradeChange[];
  failureMessage: string | null;
  applied: boolean;
}

/** A Progress as `GET /api/v1/progress/:id` returns it (canvas:lib/api/v1/progress.rb). */
export interface ProgressJson {
  id: number;
  context_id: number;
  context_type: "Course";
  user_id: number | null;
  tag: string;
  completion: number;
  workflow_state: ProgressState;
  created_at: string;
  updated_at: string;
  message: string | null;
  url: string;
}

/**
 * update_grades jobs. A job is queued for the first half of `jobSeconds` (simulated time), running for
 * the second half, then completed — or failed when some students were not found, while every other
 * grade is still applied (canvas:app/models/submission.rb `process_bulk_update`). Grades become
 * visible when the job finishes, as on Canvas.
 */
export class ProgressJobs {
  readonly #jobs = new Map<number, Job>();
  readonly #pending: Job[] = [];
  readonly #model: SimModel;
  readonly #jobMs: number;
  #nextId = 1;

  constructor(model: SimModel, jobSeconds: number) {
    this.#model = model;
    this.#jobMs = jobSeconds * 1000;
  }

  create(input: {
    courseId: number;
    graderId: number | null;
    changes: GradeChange[];
    failureMessage: string | null;
    now: number;
  }): number {
    const startsAt = input.now + this.#jobMs / 2;
    const job: Job = {
      id: this.#nextId++,
      courseId: input.courseId,
      userId: null,
      graderId: input.graderId,
      tag: "submissions_update",
      createdAt: input.now,
      startsAt,
      endsAt: startsAt + this.#jobMs / 2,
      changes: input.changes,
      failureMessage: input.failureMessage,
      applied: false,
    };
    this.#jobs.set(job.id, job);
    this.#pending.push(job);
    this.settle(input.now);
    return job.id;
  }

  /** Applies the grades of every job that has finished by `now`, in creation order. */
  settle(now: number): void {
    while (this.#pending.length > 0 && this.#pending[0]!.endsAt <= now) {
      const job = this.#pending.shift()!;
      for (const change of job.changes) {
        this.#model.submissions.postGrade(
          job.courseId,
          change.assignmentIndex,
          change.studentIndex,
          change,
          job.endsAt,
          job.graderId,
        );
      }
      job.applied = true;
      job.changes = [];
    }
  }

  courseOf(id: number): number | undefined {
    return this.#jobs.get(id)?.courseId;
  }

  json(id: number, now: number, base: string): ProgressJson | undefined {
    const job = this.#jobs.get(id);
    if (!job) return undefined;
    this.settle(now);
    let state: ProgressState;
    let completion: number;
    let updatedAt: number;
    if (now < job.startsAt) {
      state = "queued";
      completion = 0;
      updatedAt = job.createdAt;
    } else if (!job.applied) {
      state = "running";
      const span = job.endsAt - job.startsAt;
      completion = span > 0 ? Math.min(99, Math.floor(((now - job.startsAt) / span) * 100)) : 99;
      updatedAt = now;
    } else {
      state = job.failureMessage ? "failed" : "completed";
      completion = 100;
      updatedAt = job.endsAt;
    }
    return {
      id: job.id,
      context_id: job.courseId,
      context_type: "Course",
      user_id: job.userId,
      tag: job.tag,
      completion,
      workflow_state: state,
      created_at: isoSeconds(job.createdAt),
      updated_at: isoSeconds(updatedAt),
      message: state === "failed" ? job.failureMessage : null,
      url: `${base}/api/v1/progress/${job.id}`,
    };
  }

  get count(): number {
    return this.#jobs.size;
  }
}
