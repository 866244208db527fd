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
