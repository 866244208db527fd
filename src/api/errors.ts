/**
 * @module The `ERR_*` catalogue and the one function that turns errors into HTTP responses.
 *
 * Codes, statuses and messages mirror daprd (`pkg/messages/predefined.go`, `pkg/api/errors/*.go`);
 * a unit test checks them against the reference and that every code the API sends is catalogued.
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

/** One catalogue entry: the `errorCode`, its default HTTP status and the message with `{named}` holes. */
export interface ErrorMessage {
  readonly code: string;
  readonly status: number;
  readonly template: string;
}

/**
 * The catalogue, like daprd's `pkg/messages/predefined.go`: every error the API sends, by name, with
 * its code, status and message template. Several entries share a code where daprd's do (one code,
 * several messages); a status given at the call site overrides the default (e.g. 409 for an etag
 * mismatch). Entries marked "ours" are vaultstate's and have no daprd counterpart.
 */
export const MESSAGES = {
  directInvokeNoAppId: { code: "ERR_DIRECT_INVOKE", status: 404, template: "failed getting app id either from the URL path or the header dapr-app-id" },
  /** daprd's ErrMalformedRequest (bulk get, transactions, metadata bodies). */
  malformedRequest: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "failed deserializing HTTP body: {detail}" },
  /** Go's JSON / mapstructure decoder error passed on as it is, without a prefix (daprd's save path and transaction items). */
  decodeError: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "{detail}" },
  keyRequired: { code: "ERR_MALFORMED_REQUEST", status: 400, template: '"key" is a required field' },
  illegalStateKey: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "input key/keyPrefix '{key}' can't contain '||'" },
  /** Ours: limits of `PUT /v1.0/metadata/{key}`. */
  metadataKeyTooLong: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "metadata key is longer than {max} characters" },
  metadataKeyControlCharacter: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "metadata key contains a control character" },
  metadataKeyReserved: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "metadata key '{key}' is reserved" },
  metadataValueTooLarge: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "metadata value is larger than {max} bytes" },
  metadataTooManyKeys: { code: "ERR_MALFORMED_REQUEST", status: 400, template: "cannot add metadata key '{key}': at most {max} entries per app" },
  /** Ours: request limits a serverless host needs (daprd has its own, with other answers). */
  bodyTooLarge: { code: "ERR_BODY_TOO_LARGE", status: 413, template: "request body exceeds the limit of {max} bytes" },
  urlTooLong: { code: "ERR_URL_TOO_LONG", status: 414, template: "the request URL is longer than {max} characters" },
  headersTooLarge: { code: "ERR_HEADERS_TOO_LARGE", status: 431, template: "the request headers are larger than {max} bytes" },
  tooManyFailedSignIns: { code: "ERR_TOO_MANY_REQUESTS", status: 429, template: "too many failed authentication attempts; retry after {seconds} s" },
  rateLimited: { code: "ERR_TOO_MANY_REQUESTS", status: 429, template: "rate limit exceeded for caller {caller}; retry after {seconds} s" },
  secretReadBudgetSpent: { code: "ERR_TOO_MANY_REQUESTS", status: 429, template: "too many reads of uncached secrets; retry after {seconds} s" },
  /** Ours: no caller can ever authenticate. */
  noCallersConfigured: {
    code: "ERR_NO_CALLERS_CONFIGURED",
    status: 503,
    template: "no caller is configured: set API_TOKEN or add Caller documents (ALLOW_ANONYMOUS=true serves loopback requests in local development)",
  },
  unknownEntraIdCaller: { code: "ERR_PERMISSION_DENIED", status: 403, template: "no caller is configured for this Entra ID identity" },
  roleRequired: { code: "ERR_PERMISSION_DENIED", status: 403, template: "caller {caller} (role {role}) may not {action}: it needs role {needed}" },
  /** `key` and `store` are quoted (Go's `%q`). */
  secretPermissionDenied: { code: "ERR_PERMISSION_DENIED", status: 403, template: "access denied by policy to get {key} from {store}" },
  healthNotReady: { code: "ERR_HEALTH_NOT_READY", status: 500, template: "dapr is not ready: [{targets}]" },
  healthAppIdNotMatch: { code: "ERR_HEALTH_APPID_NOT_MATCH", status: 500, template: "dapr app-id does not match" },
  outboundHealthNotReady: { code: "ERR_OUTBOUND_HEALTH_NOT_READY", status: 500, template: "dapr outbound is not ready" },
  /** Ours: the named component failed to initialise and is being retried (daprd would not have started). */
  componentNotReady: { code: "ERR_COMPONENT_NOT_READY", status: 503, template: "{kind} {name} is not ready: it failed to initialise and is being retried" },
  secretStoresNotConfigured: { code: "ERR_SECRET_STORES_NOT_CONFIGURED", status: 500, template: "secret store is not configured" },
  secretStoreNotFound: { code: "ERR_SECRET_STORE_NOT_FOUND", status: 401, template: "failed finding secret store with key {store}" },
  secretGet: { code: "ERR_SECRET_GET", status: 500, template: "failed getting secret with key {key} from secret store {store}: {error}" },
  bulkSecretGet: { code: "ERR_SECRET_GET", status: 500, template: "failed getting secrets from secret store {store}: {error}" },
  stateStoreNotConfigured: { code: "ERR_STATE_STORE_NOT_CONFIGURED", status: 500, template: "state store {store} is not configured" },
  stateStoreNotFound: { code: "ERR_STATE_STORE_NOT_FOUND", status: 400, template: "state store {store} is not found" },
  stateSave: { code: "ERR_STATE_SAVE", status: 500, template: "failed saving state in state store {store}: {error}" },
  /** daprd reports a transaction's invalid options under the save code. */
  transactionOptions: { code: "ERR_STATE_SAVE", status: 400, template: "error while executing state transaction: {error}" },
  stateGet: { code: "ERR_STATE_GET", status: 500, template: "fail to get {key} from state store {store}: {error}" },
  stateDelete: { code: "ERR_STATE_DELETE", status: 500, template: "failed deleting state with key {key}: {error}" },
  stateTransaction: { code: "ERR_STATE_TRANSACTION", status: 500, template: "error while executing state transaction: {error}" },
  stateOperationNotSupported: { code: "ERR_NOT_SUPPORTED_STATE_OPERATION", status: 400, template: "operation type {operation} not supported" },
  transactionsNotSupported: { code: "ERR_STATE_STORE_NOT_SUPPORTED", status: 500, template: "state store {store} doesn't support transactions" },
  queryNotSupported: { code: "ERR_STATE_STORE_NOT_SUPPORTED", status: 500, template: "state store does not support querying" },
  tooManyTransactionOperations: {
    code: "ERR_STATE_STORE_TOO_MANY_TRANSACTIONS",
    status: 400,
    template: "the transaction contains {count} operations, which is more than what the state store supports: {max}",
  },
  stateQuery: { code: "ERR_STATE_QUERY", status: 500, template: "state store {store} query failed: {detail}" },
  /** Ours: the rotate route. */
  rotationNotSupported: { code: "ERR_ROTATION_NOT_SUPPORTED", status: 400, template: "secret store {store} does not support rotation" },
  rotationNoPolicy: { code: "ERR_ROTATION_NOT_SUPPORTED", status: 400, template: "rotation of {secret} in secret store {store}: {outcome}" },
  secretRotation: { code: "ERR_SECRET_ROTATION", status: 500, template: "rotation of {secret} in secret store {store}: {outcome}" },
  internal: { code: "ERR_INTERNAL", status: 500, template: "internal error" },
} as const satisfies Record<string, ErrorMessage>;

/** A catalogue entry's name. */
export type MessageName = keyof typeof MESSAGES;

/** A catalogued error code. */
export type ErrorCode = (typeof MESSAGES)[MessageName]["code"];

/** The `{named}` holes of a template, as a union of names. */
type Holes<T extends string> = T extends `${string}{${infer Name}}${infer Rest}` ? Name | Holes<Rest> : never;

/** The values a message needs: one per hole of its template. */
export type MessageArgs<N extends MessageName> = Record<Holes<(typeof MESSAGES)[N]["template"]>, string | number>;

/** Fills a template's holes (pure). */
export function formatMessage<N extends MessageName>(name: N, args: MessageArgs<N>): string {
  const values = args as Record<string, string | number>;
  return MESSAGES[name].template.replace(/\{(\w+)\}/g, (hole: string, key: string) => (key in values ? String(values[key]) : hole));
}

/** One entry of a rich (dapr/kit) error's `details`. */
export type ErrorDetail = Record<string, unknown>;

/** Per-error options: a status other than the entry's default, rich `details`, the cause (for logs). */
export interface ApiErrorOptions {
  status?: number;
  details?: ErrorDetail[];
  cause?: unknown;
}

/**
 * An API error: a catalogued code, a message safe to show (never a secret value), its status and
 * optional rich `details`. Built with {@link apiError} from a catalogue entry.
 */
export class ApiError extends Error {
  override readonly name = "ApiError";
  readonly code: ErrorCode;
  readonly status: number;
  readonly details: ErrorDetail[] | undefined;
  constructor(entry: ErrorMessage & { code: ErrorCode }, message: string, options: ApiErrorOptions = {}) {
    super(message, { cause: options.cause });
    this.code = entry.code;
    this.status = options.status ?? entry.status;
    this.details = options.details;
  }
}

/**
 * The error of a catalogue entry, its template filled with `args`.
 * @example
 * throw apiError("secretStoreNotFound", { store: storeName });
 */
export function apiError<N extends MessageName>(name: N, args: MessageArgs<N>, options?: ApiErrorOptions): ApiError {
  return new ApiError(MESSAGES[name], formatMessage(name, args), options);
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
    body: goMarshal({ errorCode: MESSAGES.internal.code, message: MESSAGES.internal.template }),
  };
}
