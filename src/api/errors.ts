/**
 * @module The `ERR_*` catalogue and the one function that turns errors into HTTP responses.
 *
 * Codes and statuses mirror daprd (`pkg/messages/predefined.go`, `pkg/api/errors/*.go`); a unit test
 * pins this table so a change is always deliberate.
 */
import { sanitizeMessage } from "./sanitize";
import { goMarshal } from "./wire";

/** An API response, independent of Azure Functions. */
export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  /** Absent for 204. */
  body?: string | Uint8Array;
}

/** The catalogue: error code → HTTP status (some codes have several statuses in Dapr; the default is here). */
export const ERRORS = {
  ERR_DIRECT_INVOKE: 404,
  ERR_MALFORMED_REQUEST: 400,
  ERR_BODY_READ: 400,
  ERR_BODY_TOO_LARGE: 413,
  ERR_URL_TOO_LONG: 414,
  ERR_HEADERS_TOO_LARGE: 431,
  ERR_TOO_MANY_REQUESTS: 429,
  ERR_PERMISSION_DENIED: 403,
  ERR_NO_CALLERS_CONFIGURED: 503,
  ERR_HEALTH_NOT_READY: 500,
  ERR_HEALTH_APPID_NOT_MATCH: 500,
  ERR_OUTBOUND_HEALTH_NOT_READY: 500,
  /** Ours: the named component failed to initialise and is being retried (daprd would not have started). */
  ERR_COMPONENT_NOT_READY: 503,
  ERR_SECRET_STORES_NOT_CONFIGURED: 500,
  ERR_SECRET_STORE_NOT_FOUND: 401,
  ERR_SECRET_GET: 500,
  ERR_STATE_STORE_NOT_CONFIGURED: 500,
  ERR_STATE_STORE_NOT_FOUND: 400,
  ERR_STATE_SAVE: 500,
  ERR_STATE_GET: 500,
  ERR_STATE_DELETE: 500,
  ERR_STATE_BULK_GET: 500,
  ERR_STATE_TRANSACTION: 500,
  ERR_NOT_SUPPORTED_STATE_OPERATION: 400,
  ERR_STATE_STORE_NOT_SUPPORTED: 500,
  ERR_STATE_STORE_TOO_MANY_TRANSACTIONS: 400,
  ERR_STATE_QUERY: 500,
  ERR_SECRET_ROTATION: 500,
  ERR_ROTATION_NOT_SUPPORTED: 400,
  ERR_INTERNAL: 500,
} as const satisfies Record<string, number>;

/** A catalogued error code. */
export type ErrorCode = keyof typeof ERRORS;

/** One entry of a rich (dapr/kit) error's `details`. */
export type ErrorDetail = Record<string, unknown>;

/**
 * An API error: a catalogued code, a message safe to show (never a secret value), an optional status
 * override (e.g. 409 for `ERR_STATE_SAVE` on an etag mismatch) and optional rich `details`.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    options: { status?: number; details?: ErrorDetail[]; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.status = options.status ?? ERRORS[code];
    this.details = options.details;
  }
  readonly details: ErrorDetail[] | undefined;
}

/** Narrows an unknown error to an {@link ApiError}. */
export function isApiError(e: unknown): e is ApiError {
  return e instanceof Error && e.name === "ApiError";
}

/**
 * Errors daprd writes with Go's `http.Error`: plain text, not JSON (the API-token rejection and
 * URL-unescape failures).
 */
export class PlainTextError extends Error {
  override readonly name = "PlainTextError";
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function isPlainTextError(e: unknown): e is PlainTextError {
  return e instanceof Error && e.name === "PlainTextError";
}

/** The API-token rejection, byte for byte as daprd sends it. */
export function invalidApiToken(): PlainTextError {
  return new PlainTextError(401, "invalid api token");
}

/** Receives errors that are not API errors, so they are logged once (without values) before a 500. */
export type UnexpectedErrorLogger = (error: unknown) => void;

/**
 * Renders any thrown value as a response: catalogued errors as Dapr's JSON envelope (legacy shape, or
 * the rich shape when `details` are present), plain-text errors as text, anything else as an opaque
 * 500 `ERR_INTERNAL` after logging it.
 */
export function toHttpResponse(error: unknown, logUnexpected: UnexpectedErrorLogger): ApiResponse {
  if (isPlainTextError(error)) {
    return {
      status: error.status,
      headers: { "content-type": "text/plain; charset=utf-8", "x-content-type-options": "nosniff" },
      body: `${error.message}\n`,
    };
  }
  if (isApiError(error)) {
    // Providers' messages may quote upstream bodies: one sanitiser for every message that leaves.
    const envelope: Record<string, unknown> = { errorCode: error.code, message: sanitizeMessage(error.message) };
    if (error.details !== undefined) envelope.details = error.details;
    return { status: error.status, headers: { "content-type": "application/json" }, body: goMarshal(envelope) };
  }
  logUnexpected(error);
  return {
    status: 500,
    headers: { "content-type": "application/json" },
    body: goMarshal({ errorCode: "ERR_INTERNAL", message: "internal error" }),
  };
}
