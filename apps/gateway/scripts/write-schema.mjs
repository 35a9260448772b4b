// Writes schema.graphql from the built schema: `pnpm --filter @easel/gateway schema:write`.
import { writeFileSync } from "node:fs";
import { printGatewaySchema } from "../dist/index.js";

const target = new URL("../schema.graphql", import.meta.url);
writeFileSync(target, printGatewaySchema());
process.stdout.write(`wrote ${target.pathname}\n`);
