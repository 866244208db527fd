/**
 * @module Reading Azure SDK `RestError`s structurally, for the providers' small named predicates.
 *
 * The service error code lives in different places: `@azure/storage-blob` sets `code`, while
 * `@azure/data-tables` leaves it undefined outside batches and puts it in `details.errorCode` /
 * `details.odataError.code`. Checking the shape (not `instanceof`) keeps working when several
 * copies of `@azure/core-rest-pipeline` are installed.
 */
import { StateStoreUnavailableError, isETagError, isStateStoreUnavailableError } from "../stateStore";

/** The status and service error code of an SDK error. */
export interface RestErrorInfo {
  statusCode: number | undefined;
  code: string | undefined;
}

/** Reads status and error code from an Azure SDK `RestError`; `undefined` for anything else. */
export function restErrorInfo(e: unknown): RestErrorInfo | undefined {
  if (!isRecord(e) || e.name !== "RestError") return undefined;
  const statusCode = typeof e.statusCode === "number" ? e.statusCode : undefined;
  let code = typeof e.code === "string" ? e.code : undefined;
  if (code === undefined && isRecord(e.details)) {
    const { errorCode, odataError } = e.details;
    if (typeof errorCode === "string") code = errorCode;
    else if (isRecord(odataError) && typeof odataError.code === "string") code = odataError.code;
  }
  return { statusCode, code };
}

/**
 * True when the error has this service code, or, if the service sent no code at all, this status.
 * @param code - the Azure error code, e.g. `BlobNotFound`
 * @param status - the HTTP status that stands for it when no code is present
 */
export function hasErrorCode(e: unknown, code: string, status: number): boolean {
  const info = restErrorInfo(e);
  if (info === undefined) return false;
  return info.code === undefined ? info.statusCode === status : info.code === code;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null;
}

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
  const info = restErrorInfo(e);
  if (info === undefined) return e;
  if (info.statusCode === undefined) {
    // No HTTP answer: connection refused or reset, DNS, TLS. The code names the kind, never the address.
    const kind = typeof info.code === "string" && /^[A-Z_]+$/.test(info.code) ? ` (${info.code})` : "";
    return new StateStoreUnavailableError("unavailable", `the state store could not be reached${kind}`, { cause: e });
  }
  const code = info.code !== undefined && /^[A-Za-z]+$/.test(info.code) ? ` ${info.code}` : "";
  const failure = info.statusCode >= 500 || info.statusCode === 429;
  const message = `the state store answered HTTP ${info.statusCode}${code}`;
  return failure ? new StateStoreUnavailableError("unavailable", message, { cause: e }) : new StorageServiceError(message, info.statusCode, { cause: e });
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
