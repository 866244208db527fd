/**
 * The state stores' per-operation deadline: it still ends a stalled operation as a timeout, and its
 * timer ends with the operation, so finished storage calls leave no timer pending for the rest of
 * their deadline.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { withDeadline } from "../../../../src/components/state/azure/deadline";
import { isStateStoreUnavailableError } from "../../../../src/components/state/stateStore";

const MINUTE = 60_000;

afterEach(() => {
  vi.restoreAllMocks();
});

/** The timers of `ms` set while `run` ran, and whether each was cleared. */
async function timersOf<T>(ms: number, run: () => Promise<T>): Promise<{ result: PromiseSettledResult<T>; timers: boolean[] }> {
  const set = vi.spyOn(globalThis, "setTimeout");
  const cleared = vi.spyOn(globalThis, "clearTimeout");
  const [result] = await Promise.allSettled([run()]);
  const timers = set.mock.calls.flatMap((args, i) => (args[1] === ms ? [set.mock.results[i]?.value as unknown] : []));
  return { result: result as PromiseSettledResult<T>, timers: timers.map((t) => cleared.mock.calls.some(([c]) => c === t)) };
}

describe("withDeadline", () => {
  it("clears its timer when the operation succeeds or fails, with or without a caller signal", async () => {
    const ok = await timersOf(MINUTE, () => withDeadline(undefined, MINUTE, async () => "done"));
    expect(ok.result).toEqual({ status: "fulfilled", value: "done" });
    expect(ok.timers).toEqual([true]);
    const caller = new AbortController();
    const failed = await timersOf(MINUTE, () =>
      withDeadline({ abortSignal: caller.signal }, MINUTE, async () => {
        throw new TypeError("bad input");
      }),
    );
    expect(failed.result.status).toBe("rejected");
    expect(failed.result.status === "rejected" && (failed.result.reason as Error).message).toBe("bad input");
    expect(failed.timers).toEqual([true]);
  });

  it("still ends a stalled operation as a timeout", async () => {
    const outcome = await withDeadline(undefined, 20, (signal) => new Promise((_, reject) => signal.addEventListener("abort", () => reject(signal.reason as Error), { once: true }))).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isStateStoreUnavailableError(outcome) && outcome.failure).toBe("timeout");
  });
});
