/**
 * Deadlines end with their work: a finished call leaves no pending timer behind (AbortSignal.timeout
 * kept one per call until its deadline passed, thousands under load, all in the live heap).
 */
import { Readable } from "node:stream";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PipelineRequest, PipelineResponse, SendRequest } from "@azure/core-rest-pipeline";
import { createHttpHeaders, createPipelineRequest } from "@azure/core-rest-pipeline";
import { operationDeadlinePolicy } from "../../src/azure/deadline";
import { clearableTimeout } from "../../src/shared/timeouts";

afterEach(() => {
  vi.useRealTimers();
});

const response = (request: PipelineRequest, extra: Partial<PipelineResponse> = {}): PipelineResponse => ({ request, status: 200, headers: createHttpHeaders(), ...extra });

describe("clearable deadlines", () => {
  it("aborts with a TimeoutError at the deadline, and not at all once cleared", () => {
    vi.useFakeTimers();
    const fired = clearableTimeout(1_000);
    const cleared = clearableTimeout(1_000);
    cleared.clear();
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1_000);
    expect(fired.signal.aborted).toBe(true);
    expect((fired.signal.reason as DOMException).name).toBe("TimeoutError");
    expect(cleared.signal.aborted).toBe(false);
  });

  it("follows a caller's signal until cleared, with its reason, and leaves no listener on it", () => {
    vi.useFakeTimers();
    const caller = new AbortController();
    const listeners = vi.spyOn(caller.signal, "removeEventListener");
    const followed = clearableTimeout(1_000, caller.signal);
    const done = clearableTimeout(1_000, caller.signal);
    done.clear();
    expect(listeners).toHaveBeenCalledTimes(1);
    caller.abort(new Error("caller went away"));
    expect(followed.signal.aborted).toBe(true);
    expect((followed.signal.reason as Error).message).toBe("caller went away");
    expect(done.signal.aborted).toBe(false);
    // The caller's abort ended the timer too: nothing is left pending.
    expect(vi.getTimerCount()).toBe(0);
    // A caller already aborted: aborted at once, no timer.
    const late = clearableTimeout(1_000, caller.signal);
    expect(late.signal.aborted).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    // The deadline first: a TimeoutError, and the caller's signal no longer has the listener.
    const other = new AbortController();
    const removed = vi.spyOn(other.signal, "removeEventListener");
    const timed = clearableTimeout(500, other.signal);
    vi.advanceTimersByTime(500);
    expect((timed.signal.reason as DOMException).name).toBe("TimeoutError");
    expect(removed).toHaveBeenCalledTimes(1);
    other.abort();
    expect((timed.signal.reason as DOMException).name).toBe("TimeoutError");
  });

  it("the operation deadline policy clears its timer when the call ends, unless a streamed body is still to be read", async () => {
    vi.useFakeTimers();
    const policy = operationDeadlinePolicy(10_000);
    const ok: SendRequest = (request) => Promise.resolve(response(request));
    const failing: SendRequest = () => Promise.reject(new Error("connection reset"));
    await policy.sendRequest(createPipelineRequest({ url: "https://example.invalid/a" }), ok);
    await expect(policy.sendRequest(createPipelineRequest({ url: "https://example.invalid/b" }), failing)).rejects.toThrow("connection reset");
    expect(vi.getTimerCount()).toBe(0);
    // A download's body is read after the response arrives: the deadline still bounds it.
    const request = createPipelineRequest({ url: "https://example.invalid/c" });
    const streamed: SendRequest = (r) => Promise.resolve(response(r, { readableStreamBody: Readable.from([]) }));
    await policy.sendRequest(request, streamed);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(10_000);
    expect(request.abortSignal?.aborted).toBe(true);
  });
});
