/**
 * @module The one reader of Azure SDK errors: status, service error code, network failures, throttling
 * and `Retry-After`, on the SDK's own `isRestError` (a structural check, so it holds when several copies
 * of `@azure/core-rest-pipeline` are installed, where `instanceof RestError` does not).
 *
 * The service error code lives in different places: Blob storage sets `code`; Tables leaves it
 * undefined outside batches and puts it in `details.errorCode` / `details.odataError.code`; Key Vault
 * puts the specific reason (e.g. `SecretDisabled`) in `details.error.innerError.code`. Callers ask
 * here instead of reading shapes themselves; this module never reads a message or a body.
 */
import { isRestError } from "@azure/core-rest-pipeline";
import { isRecord } from "../shared/guards";

/** Node and undici codes of a request that never got an answer (nothing reached the service, or no reply came). */
const NETWORK_CODES = new Set(["ECONNRESET", "ECONNREFUSED", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN", "REQUEST_SEND_ERROR", "UND_ERR_SOCKET", "UND_ERR_CONNECT_TIMEOUT"]);

/** Credential errors of `@azure/identity`: the identity endpoint could not give a token (an outage for us). */
const CREDENTIAL_ERRORS = new Set(["CredentialUnavailableError", "AuthenticationError"]);

/**
 * A service that throttled (429, or 503 with `Retry-After`), thrown by our pipeline policies instead
 * of letting the SDK sleep, so the caller decides (back off, or serve a cached value).
 */
export class ThrottledError extends Error {
  override readonly name: string = "ThrottledError";
  readonly code = "Throttled";
  constructor(
    readonly statusCode: number,
    readonly retryAfterInMs: number | undefined,
    service: string,
  ) {
    super(`${service} answered ${statusCode}${retryAfterInMs !== undefined ? ` with Retry-After ${Math.ceil(retryAfterInMs / 1000)} s` : ""}`);
  }
}

function isThrottledError(e: unknown): e is ThrottledError {
  return e instanceof Error && isRecord(e) && e.code === "Throttled" && typeof e.statusCode === "number";
}

/** What an Azure failure says, without its message. */
export interface AzureErrorFacts {
  /** The HTTP status, when the service answered. */
  status: number | undefined;
  /** The service's error code (`BlobNotFound`, `EntityAlreadyExists`…), or the network code when nothing answered. */
  code: string | undefined;
  /** Key Vault's specific reason (`details.error.innerError.code`, e.g. `SecretDisabled`). */
  innerCode: string | undefined;
}

/** Status and codes of an SDK `RestError` (or our {@link ThrottledError}); `undefined` for anything else. */
export function azureErrorFacts(e: unknown): AzureErrorFacts | undefined {
  if (isThrottledError(e)) return { status: e.statusCode, code: e.code, innerCode: undefined };
  if (!isRestError(e)) return undefined;
  let code = typeof e.code === "string" ? e.code : undefined;
  let innerCode: string | undefined;
  const details = e.details;
  if (isRecord(details)) {
    const { errorCode, odataError, error } = details;
    if (code === undefined && typeof errorCode === "string") code = errorCode;
    else if (code === undefined && isRecord(odataError) && typeof odataError.code === "string") code = odataError.code;
    if (isRecord(error)) {
      if (code === undefined && typeof error.code === "string") code = error.code;
      if (isRecord(error.innerError) && typeof error.innerError.code === "string") innerCode = error.innerError.code;
    }
  }
  return { status: typeof e.statusCode === "number" ? e.statusCode : undefined, code, innerCode };
}

/** The HTTP status of an Azure failure, if the service answered. */
export function azureStatus(e: unknown): number | undefined {
  return azureErrorFacts(e)?.status;
}

/** Whether the service answered with one of these statuses. */
export function hasStatus(e: unknown, ...statuses: number[]): boolean {
  const status = azureStatus(e);
  return status !== undefined && statuses.includes(status);
}

/**
 * True when the error has this service code, or, if the service sent no code at all, this status.
 * @param code - the Azure error code, e.g. `BlobNotFound`
 * @param status - the HTTP status that stands for it when no code is present
 */
export function hasErrorCode(e: unknown, code: string, status: number): boolean {
  const facts = azureErrorFacts(e);
  if (facts === undefined) return false;
  return facts.code === undefined ? facts.status === status : facts.code === code;
}

/** A deadline or cancellation ended the call. */
export function isAbortError(e: unknown): boolean {
  return e instanceof Error && e.name === "AbortError";
}

/** No answer came: connection refused or reset, DNS, TLS, a socket that closed. */
export function isNetworkError(e: unknown): boolean {
  if (!isRecord(e)) return false;
  if (isRestError(e) && e.statusCode !== undefined) return false;
  return typeof e.code === "string" && NETWORK_CODES.has(e.code);
}

/** The identity endpoint could not issue a token. */
export function isCredentialError(e: unknown): boolean {
  return e instanceof Error && CREDENTIAL_ERRORS.has(e.name);
}

/** Parses `Retry-After` (seconds or an HTTP date) into milliseconds. */
export function parseRetryAfter(value: string | undefined, now: number = Date.now()): number | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** `retry-after-ms` / `x-ms-retry-after-ms`, else `Retry-After`, in milliseconds. */
export function retryAfterOf(headers: { get(name: string): string | undefined }, now: number = Date.now()): number | undefined {
  const ms = Number(headers.get("retry-after-ms") ?? headers.get("x-ms-retry-after-ms") ?? Number.NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  return parseRetryAfter(headers.get("retry-after"), now);
}

/**
 * Throttling: 429, or 503 with `Retry-After` (Azure's "busy, come back then"), with the wait the
 * service asked for; `undefined` when the failure is not throttling.
 */
export function throttling(e: unknown): { status: number; retryAfterInMs: number | undefined } | undefined {
  if (isThrottledError(e)) return { status: e.statusCode, retryAfterInMs: e.retryAfterInMs };
  if (!isRestError(e) || e.statusCode === undefined) return undefined;
  const retryAfterInMs = e.response === undefined ? undefined : retryAfterOf(e.response.headers);
  if (e.statusCode === 429 || (e.statusCode === 503 && retryAfterInMs !== undefined)) return { status: e.statusCode, retryAfterInMs };
  return undefined;
}

/**
 * A failure that may pass by itself: throttling, 408, any 5xx, no answer, or no token. Cancellation is
 * not included (callers tell their own deadline from the caller's).
 */
export function isTransientAzureError(e: unknown): boolean {
  if (throttling(e) !== undefined || isNetworkError(e) || isCredentialError(e)) return true;
  const status = azureStatus(e);
  return status !== undefined && (status >= 500 || status === 408 || status === 429);
}

/** What kind of failure had no answer: the network code (`ECONNRESET`) or the error's name. */
export function failureKind(e: unknown): string {
  if (isRecord(e) && typeof e.code === "string") return e.code;
  return e instanceof Error ? e.name : "error";
}

/** `<status> <code>` of an Azure failure, or `no status` (for log lines; never a message or a body). */
export function describeAzureFailure(e: unknown): string {
  const facts = azureErrorFacts(e);
  const code = facts?.code ?? (isRecord(e) && typeof e.code === "string" ? e.code : undefined);
  return [facts?.status !== undefined ? String(facts.status) : "no status", ...(code !== undefined ? [code] : [])].join(" ");
}
