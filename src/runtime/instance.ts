/**
 * @module The process-wide runtime: started once (at app start), shared by every invocation.
 */
import type { RuntimeSource } from "../api/router";
import type { RuntimeStatus } from "../api/healthApi";
import { describeError, type Logger } from "../observability/logger";
import type { Runtime } from "./runtime";

/** A runtime source that builds lazily, exactly once, and remembers how it went. */
export interface ManagedRuntime extends RuntimeSource {
  /** Starts the build if it has not started; resolves when ready, rejects if it failed. */
  start(): Promise<Runtime>;
  close(): Promise<void>;
}

/**
 * Wraps a runtime builder so concurrent first requests share one build and health checks can see
 * the state without waiting.
 */
export function createManagedRuntime(build: () => Promise<Runtime>, logger: Logger): ManagedRuntime {
  let status: RuntimeStatus = { state: "starting" };
  let promise: Promise<Runtime> | undefined;
  const start = (): Promise<Runtime> => {
    promise ??= build().then(
      (runtime) => {
        status = { state: "ready", runtime };
        return runtime;
      },
      (e: unknown) => {
        status = { state: "failed", reason: describeError(e) };
        logger.error(`start-up failed: ${describeError(e)}`);
        throw e;
      },
    );
    return promise;
  };
  return {
    start,
    ready: start,
    status: () => status,
    async close() {
      if (status.state === "ready") await status.runtime.close();
    },
  };
}
