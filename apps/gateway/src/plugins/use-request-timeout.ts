import type { ExecutionResult } from "graphql";
import type { Plugin } from "graphql-yoga";
import type { GatewayContext } from "../context.js";
import { GATEWAY_TIMEOUT, GatewayError } from "../errors.js";

/**
 * Bounds each query or mutation: after `timeoutMs` the client gets `GATEWAY_TIMEOUT` (504),
 * and only then is the context's signal aborted, so the Canvas requests still running stop
 * (aborting first would surface as an abort error instead of the timeout). Subscriptions are
 * long-lived by design and not bounded here.
 */
export function useRequestTimeout(timeoutMs: number): Plugin {
  return {
    onExecute({ executeFn, setExecuteFn }) {
      setExecuteFn((args) => {
        const context = args.contextValue as Partial<GatewayContext>;
        let timer: NodeJS.Timeout | undefined;
        const deadline = new Promise<ExecutionResult>((resolve) => {
          timer = setTimeout(() => {
            resolve({
              errors: [
                new GatewayError(GATEWAY_TIMEOUT, `The request took longer than ${timeoutMs} ms.`, {
                  status: 504,
                }),
              ],
            });
            setImmediate(() => context.execution?.abort(new Error("request timeout")));
          }, timeoutMs);
          timer.unref();
        });
        const run = Promise.resolve(executeFn(args) as Promise<ExecutionResult>);
        return Promise.race([run, deadline]).finally(() => clearTimeout(timer));
      });
    },
  };
}
