import { easelVitestConfig } from "@easel/tooling/vitest";

export default easelVitestConfig();
