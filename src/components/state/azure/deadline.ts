/**
 * @module Deadlines for the Azure state stores: every storage operation runs under an abort signal
 * that fires at the caller's deadline (the API request's) or after the component's own
 * `timeoutInSeconds`, whichever comes first, and its failures leave as caller-safe errors.
 */
import { DEFAULT_STORAGE_TIMEOUT_IN_MS } from "../../../azure/storage";
import { clearableTimeout } from "../../../shared/timeouts";
import { parseInteger } from "../../metadata";
import type { OperationOptions, StateStore } from "../stateStore";
import { toStateStoreError } from "./restError";

/** The longest `timeoutInSeconds` a component may set: longer would outlive any sensible request. */
const MAX_TIMEOUT_IN_SECONDS = 300;

/**
 * Reads `timeoutInSeconds` (vaultstate's own metadata field): the deadline of one storage operation,
 * retries included.
 * @returns milliseconds; 10 s when absent
 * @throws {@link MetadataError} for anything but an integer in [1, 300]
 */
export function parseStorageTimeout(value: string | undefined): number {
  return parseInteger("timeoutInSeconds", value, DEFAULT_STORAGE_TIMEOUT_IN_MS / 1000, { min: 1, max: MAX_TIMEOUT_IN_SECONDS }) * 1000;
}

/**
 * Runs one storage operation under its deadline.
 * @param options - the caller's options; its signal (the request's deadline) also ends the operation
 * @param timeoutInMs - the component's own deadline per operation
 * @throws {@link StateStoreUnavailableError} `timeout` when the deadline fired, `unavailable` for
 *   network failures and service errors; etag and input errors unchanged
 */
export async function withDeadline<T>(options: OperationOptions | undefined, timeoutInMs: number, operation: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
  // A timer that ends with the operation: `AbortSignal.timeout` would stay pending for the rest of the
  // deadline after every storage call, held in the heap.
  const deadline = clearableTimeout(timeoutInMs, options?.abortSignal);
  const signal = deadline.signal;
  try {
    return await operation(signal);
  } catch (e) {
    throw toStateStoreError(e, signal, options?.abortSignal, timeoutInMs);
  } finally {
    deadline.clear();
  }
}

/** The store methods that talk to storage; each takes `(request, options?)` (init: `(properties, options?)`). */
const GUARDED_METHODS = ["init", "get", "set", "delete", "transact", "scan"] as const;

/**
 * Puts every storage-facing method of a provider under {@link withDeadline}: the provider passes the
 * `abortSignal` it is given to each SDK call, and this wrapper makes that signal the deadline.
 * @param timeoutInMs - read per call, since the component's metadata is only known after `init`
 */
export function withStorageDeadlines<S extends StateStore>(store: S, timeoutInMs: () => number): S {
  const guarded = Object.assign({}, store) as unknown as Record<string, unknown>;
  for (const name of GUARDED_METHODS) {
    const method: unknown = guarded[name];
    if (typeof method !== "function") continue;
    guarded[name] = (input: unknown, options?: OperationOptions): Promise<unknown> =>
      withDeadline(options, timeoutInMs(), (abortSignal) => (method as GuardedMethod).call(store, input, { ...options, abortSignal }));
  }
  return guarded as S;
}

type GuardedMethod = (input: unknown, options?: OperationOptions) => Promise<unknown>;
