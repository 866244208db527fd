/**
 * @module Deadlines whose timers end with the work they bound.
 */

/**
 * A signal that aborts after `ms` as `AbortSignal.timeout` does (a `TimeoutError` reason; the timer
 * does not keep the process alive), but whose timer `clear()` removes. `AbortSignal.timeout` keeps its
 * timer (with a WeakRef and a finalizer) until the deadline passes, long after the call it bounded
 * finished: under load thousands of them stay pending, held in the live heap.
 */
export function clearableTimeout(ms: number): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")), ms);
  timer.unref();
  return { signal: controller.signal, clear: () => clearTimeout(timer) };
}
