/**
 * @module Deadlines whose timers end with the work they bound.
 */

/**
 * A signal that aborts after `ms` as `AbortSignal.timeout` does (a `TimeoutError` reason; the timer
 * does not keep the process alive), or as soon as `callerSignal` aborts (with its reason), whichever
 * comes first; `clear()` removes the timer and the link to the caller's signal.
 * `AbortSignal.timeout` keeps its timer (with a WeakRef and a finalizer) until the deadline passes,
 * long after the call it bounded finished, and `AbortSignal.any` registers each combined signal with
 * its sources through weak references and finalizers that outlive it until a later task cleans them
 * up: under load thousands of either stay in the live heap.
 */
export function clearableTimeout(ms: number, callerSignal?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  if (callerSignal?.aborted === true) {
    controller.abort(callerSignal.reason);
    return { signal: controller.signal, clear: () => undefined };
  }
  const follow = (): void => {
    clearTimeout(timer);
    controller.abort(callerSignal?.reason);
  };
  const timer = setTimeout(() => {
    callerSignal?.removeEventListener("abort", follow);
    controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError"));
  }, ms);
  timer.unref();
  callerSignal?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    clear: () => {
      clearTimeout(timer);
      callerSignal?.removeEventListener("abort", follow);
    },
  };
}
