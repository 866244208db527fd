/**
 * @module Deadlines on Azure SDK clients: a pipeline policy that bounds every operation of a client (all its
 * tries and retry delays) by a timeout combined with the caller's own abort signal, so a stalled service
 * (a stopped Azurite, a black-holed endpoint) fails the call in time instead of holding it until the socket dies.
 */
import type { AbortSignalLike } from "@azure/abort-controller";
import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import { clearableTimeout } from "../shared/timeouts";

/** The SDKs type signals as `AbortSignalLike`; `AbortSignal.any` and the deadlines here need real ones. */
export function asAbortSignal(like: AbortSignalLike): AbortSignal {
  if (like instanceof AbortSignal) return like;
  const controller = new AbortController();
  if (like.aborted) controller.abort();
  else like.addEventListener("abort", () => controller.abort(), { once: true });
  return controller.signal;
}

/**
 * Gives every operation a deadline: the caller's signal (if any) combined with `timeoutInMs`. Added per
 * call (before the retry step), so the deadline covers the retries too.
 */
export function operationDeadlinePolicy(timeoutInMs: number, name = "vaultstateDeadline"): PipelinePolicy {
  return {
    name,
    sendRequest(request, next) {
      const timeout = clearableTimeout(timeoutInMs, request.abortSignal === undefined ? undefined : asAbortSignal(request.abortSignal));
      request.abortSignal = timeout.signal;
      return next(request).then(
        (response) => {
          // A streamed body is read after this returns: its deadline stays until it passes.
          if (response.readableStreamBody === undefined && response.browserStreamBody === undefined) timeout.clear();
          return response;
        },
        (e: unknown) => {
          timeout.clear();
          throw e;
        },
      );
    },
  };
}
