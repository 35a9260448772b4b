// Helpers the Easel test suites share, instead of a copy per package. Private: never published,
// a devDependency of the packages whose tests use it.
export { type NodeProcess, type NodeProcessOptions, runNode, startNode } from "./children.js";
export { freePort } from "./net.js";
export { pythonUnavailable, type RunPythonOptions, runPython } from "./python.js";
export {
  inCi,
  REDIS_URL,
  type RequireRedisOptions,
  redisAvailable,
  requireRedis,
  uniqueRedisPrefix,
} from "./redis.js";
export { type PrivateRedis, startPrivateRedis } from "./redis-server.js";
export { tempDir } from "./temp.js";
export { readVector, VECTORS } from "./vectors.js";
