/**
 * @module The state stores' translation of Azure SDK failures into caller-safe errors (the facts
 * come from src/azure/errors.ts, the one reader of SDK errors).
 */
import { azureErrorFacts, isNetworkError } from "../../../azure/errors";
import { StateStoreUnavailableError, isETagError, isStateStoreUnavailableError } from "../stateStore";

/**
 * Turns an Azure SDK failure into an error fit for an API response: a deadline that fired becomes a
 * `timeout`, a network failure or a 5xx/429 becomes `unavailable`, and any other service answer keeps
 * only its status and error code. SDK messages carry the request URL (internal host and port), the
 * service's request id and its body text, none of which may reach a caller; the original stays as
 * `cause` for the logs.
 * @param deadline - the signal the operation ran under, to tell a timeout from a cancellation
 * @param callerSignal - the caller's own signal (the request's deadline)
 * @param timeoutInMs - the store's own per-operation deadline, for the message
 */
export function toStateStoreError(e: unknown, deadline: AbortSignal, callerSignal: AbortSignal | undefined, timeoutInMs: number): unknown {
  if (!(e instanceof Error) || isStateStoreUnavailableError(e) || isETagError(e)) return e;
  if (deadline.aborted || e.name === "AbortError") {
    const message =
      callerSignal?.aborted === true ? "the request's deadline passed before the state store answered" : `the state store did not answer within ${timeoutInMs} ms`;
    return new StateStoreUnavailableError("timeout", message, { cause: e });
  }
  const facts = azureErrorFacts(e);
  if (facts === undefined && !isNetworkError(e)) return e;
  if (facts?.status === undefined) {
    // No HTTP answer: connection refused or reset, DNS, TLS. The code names the kind, never the address.
    const raw = facts?.code ?? (e as { code?: unknown }).code;
    const kind = typeof raw === "string" && /^[A-Z_]+$/.test(raw) ? ` (${raw})` : "";
    return new StateStoreUnavailableError("unavailable", `the state store could not be reached${kind}`, { cause: e });
  }
  const code = facts.code !== undefined && /^[A-Za-z]+$/.test(facts.code) ? ` ${facts.code}` : "";
  const failure = facts.status >= 500 || facts.status === 429;
  const message = `the state store answered HTTP ${facts.status}${code}`;
  return failure ? new StateStoreUnavailableError("unavailable", message, { cause: e }) : new StorageServiceError(message, facts.status, { cause: e });
}

/** A storage answer that is not a failure of the service (4xx other than 429), with a safe message. */
export class StorageServiceError extends Error {
  override readonly name = "StorageServiceError";
  constructor(
    message: string,
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
