/**
 * The simulated Canvas instance's data, composed of one module per job. Everything generated is a pure
 * function of (seed, ids), built lazily and deterministically; changes made through the API live in the
 * overlays of the module that owns the data (submissions: grades; people: enrollment fields).
 */
import { Analytics } from "./analytics.js";
import { Assignments } from "./assignments.js";
import { Catalog } from "./catalog.js";
import type { ModelConfig } from "./config.js";
import { People } from "./people.js";
import { Submissions } from "./submissions.js";

export class SimModel {
  readonly config: ModelConfig;
  /** Accounts, terms and courses. */
  readonly catalog: Catalog;
  /** Users and enrollments (and the id layout). */
  readonly people: People;
  readonly assignments: Assignments;
  /** Generated submissions, the grade overlay, course grades. */
  readonly submissions: Submissions;
  readonly analytics: Analytics;

  constructor(config: ModelConfig) {
    this.config = config;
    this.catalog = new Catalog(config);
    this.people = new People(config, this.catalog);
    this.assignments = new Assignments(config, this.catalog);
    this.submissions = new Submissions(config, this.people, this.assignments);
    this.analytics = new Analytics(config, this.people, this.submissions);
  }

  get courseCount(): number {
    return this.config.courses;
  }
  get studentsPerCourse(): number {
    return this.config.studentsPerCourse;
  }
  get assignmentsPerCourse(): number {
    return this.config.assignmentsPerCourse;
  }
}
