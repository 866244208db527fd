/**
 * @module The Dapr state API: save, get, bulk get, delete, transaction, and the alpha query route.
 *
 * Order of checks and error shapes follow daprd (`pkg/api/http/http.go`, `pkg/api/errors/state.go`):
 * the store lookup happens before the body is read; rich (kit) errors where daprd sends them.
 * Deliberate differences, all bad input answered with a 4xx instead of daprd's 500: an invalid
 * `ttlInSeconds` and an unknown `concurrency`/`consistency` (400 `ERR_STATE_SAVE`/`ERR_STATE_DELETE`),
 * and a key or metadata value the provider cannot represent (it throws a `RangeError`, e.g. a `/` in an
 * Azure Table key; 400 with the operation's code), and an empty key in a transaction (400, as in a save;
 * daprd stores it as `<appid>||`). Bodies are decoded with {@link decodeJson} (nesting
 * limit, no `Infinity`), and one request never runs more than {@link STORE_CONCURRENCY} store calls at
 * once, however many items it carries.
 */
import { isETagError, isTransactionalStateStore, type StateOptions, type TransactionOperation } from "../components/state/stateStore";
import { parseTtlInSeconds } from "../components/state/ttl";
import type { Caller } from "./auth";
import { apiError, type ApiError, type ApiErrorOptions, formatMessage, type ApiResponse, type ErrorDetail } from "./errors";
import { empty } from "./responses";
import { sanitizeMessage } from "./sanitize";
import { isIllegalKey, prefixKey } from "../components/state/stateKeys";
import type { StateComponent } from "../runtime/runtime";
import { decodeJson, goMarshal, JsonDecodeError } from "./wire";
import { isRecord } from "../shared/guards";
import { mapWithConcurrency } from "../shared/concurrency";

/**
 * The most store calls one request runs at once (save items, bulk-get keys). A 4 MiB body can carry
 * ~380k items; running them all in parallel exhausted sockets and file descriptors (EMFILE) and
 * starved every other request, so writes and reads are queued behind this bound.
 */
export const STORE_CONCURRENCY = 16;

/** How many distinct store error messages a failed multi-item save lists before summarising. */
const MAX_LISTED_ERRORS = 10;

/**
 * Whether a store error means "this input cannot be stored" rather than "the store failed": providers
 * throw `RangeError` for keys and metadata they cannot represent (table keys with `/`, a bad
 * `contentMD5`, an out-of-range TTL) and a `URIError` for text that cannot be URL-encoded. A stack
 * overflow is also a `RangeError` but is a server fault.
 */
function isInvalidInputError(e: unknown): boolean {
  if (e instanceof URIError) return true;
  return e instanceof RangeError && !/call stack/i.test(e.message);
}

/** Where state stores come from: the caller's visible stores by name. */
export interface StateContext {
  stores: ReadonlyMap<string, StateComponent>;
  caller: Caller;
  namespace: string | undefined;
  abortSignal?: AbortSignal;
}

// ---- rich error details (dapr/kit) ----

function errorInfo(reason: string, metadata: Record<string, string> | null): ErrorDetail {
  return { "@type": "type.googleapis.com/google.rpc.ErrorInfo", reason, domain: "dapr.io", metadata };
}

function resourceInfo(storeName: string): ErrorDetail {
  return { "@type": "type.googleapis.com/google.rpc.ResourceInfo", resource_type: "state", resource_name: storeName, owner: "", description: "" };
}

function illegalKey(key: string, storeName: string): ApiError {
  return apiError("illegalStateKey", { key }, {
    details: [
      { "@type": "type.googleapis.com/google.rpc.BadRequest", field_violations: [{ field: key, description: formatMessage("illegalStateKey", { key }) }] },
      resourceInfo(storeName),
      errorInfo("DAPR_STATE_ILLEGAL_KEY", null),
    ],
  });
}

/**
 * daprd's store lookup, the first step of every state route.
 * @throws {@link ApiError} 500 `ERR_STATE_STORE_NOT_CONFIGURED` / 400 `ERR_STATE_STORE_NOT_FOUND`
 */
export function lookupStateStore(ctx: StateContext, storeName: string, appIdInDetails = true): StateComponent {
  const appIdMetadata = appIdInDetails ? { appID: ctx.caller.appId } : null;
  if (ctx.stores.size === 0) {
    throw apiError("stateStoreNotConfigured", { store: storeName }, {
      details: [errorInfo("DAPR_STATE_NOT_CONFIGURED", appIdMetadata)],
    });
  }
  const component = ctx.stores.get(storeName);
  if (component === undefined) {
    throw apiError("stateStoreNotFound", { store: storeName }, { details: [errorInfo("DAPR_STATE_NOT_FOUND", appIdMetadata)] });
  }
  return component;
}

// ---- body parsing: JSON with Go's case-insensitive field matching ----

type Json = Record<string, unknown>;


/** Go's `encoding/json` matches field names case-insensitively; the exact name wins if present. */
function field(obj: Json, name: string): unknown {
  if (Object.prototype.hasOwnProperty.call(obj, name)) return obj[name];
  const lowered = name.toLowerCase();
  const key = Object.keys(obj).find((k) => k.toLowerCase() === lowered);
  return key === undefined ? undefined : obj[key];
}

/** A request body's decoder failure, with or without daprd's "failed deserializing HTTP body" prefix. */
type Malformed = (detail: string) => ApiError;
const withPrefix: Malformed = (detail) => apiError("malformedRequest", { detail });
const asDecoded: Malformed = (detail) => apiError("decodeError", { detail });

function parseJsonBody(body: Uint8Array, malformed: Malformed): unknown {
  const text = Buffer.from(body).toString("utf8");
  if (text.trim() === "") throw malformed("EOF");
  try {
    return decodeJson(text);
  } catch (e) {
    if (e instanceof JsonDecodeError) throw malformed(e.message);
    throw e;
  }
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v === "object" ? "object" : typeof v;
}

function unmarshalError(v: unknown, target: string): string {
  return `json: cannot unmarshal ${jsonType(v)} into Go value of type ${target}`;
}

function typeError(v: unknown, target: string): ApiError {
  return asDecoded(unmarshalError(v, target));
}

/** How a save, delete or transaction reports an invalid option or a store failure. */
type Failure = (error: string, options?: ApiErrorOptions) => ApiError;

const transactionOptionFailure: Failure = (error, options) => apiError("transactionOptions", { error }, options);

function saveFailure(storeName: string): Failure {
  return (error, options) => apiError("stateSave", { store: storeName, error }, options);
}

function stringMap(v: unknown, target: string): Record<string, string> {
  if (v === undefined || v === null) return {};
  if (!isRecord(v)) throw typeError(v, target);
  const out: Record<string, string> = {};
  for (const [k, value] of Object.entries(v)) {
    if (typeof value !== "string") throw typeError(value, `string (metadata "${k}")`);
    out[k] = value;
  }
  return out;
}

function optionalString(v: unknown, target: string): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw typeError(v, target);
  return v;
}

const CONCURRENCY = new Set(["first-write", "last-write"]);
const CONSISTENCY = new Set(["strong", "eventual"]);

/**
 * Validates Dapr state options; empty strings mean unset.
 * @param fail - the operation's error (save, delete or transaction)
 */
function parseOptions(concurrency: string | undefined, consistency: string | undefined, fail: Failure): StateOptions {
  const options: StateOptions = {};
  if (concurrency !== undefined && concurrency !== "") {
    if (!CONCURRENCY.has(concurrency)) throw fail(`unrecognized concurrency model '${concurrency}'`, { status: 400 });
    options.concurrency = concurrency as StateOptions["concurrency"];
  }
  if (consistency !== undefined && consistency !== "") {
    if (!CONSISTENCY.has(consistency)) throw fail(`unrecognized consistency model '${consistency}'`, { status: 400 });
    options.consistency = consistency as StateOptions["consistency"];
  }
  return options;
}

function checkTtl(metadata: Record<string, string>, fail: Failure): void {
  try {
    parseTtlInSeconds(metadata);
  } catch (e) {
    throw fail(e instanceof Error ? e.message : "invalid ttlInSeconds", { status: 400 });
  }
}

/** A save item after validation, with the client's key. */
interface SaveItem {
  key: string;
  value: string;
  etag: string | undefined;
  metadata: Record<string, string>;
  options: StateOptions;
}

function encodeValue(value: unknown): string {
  // daprd decodes into a Go `any` and re-encodes: the stored text is the JSON of the value.
  return goMarshal(value === undefined ? null : value);
}

function parseSaveItem(raw: unknown, storeName: string, queryMetadata: Record<string, string>): SaveItem {
  if (!isRecord(raw)) throw typeError(raw, "state.SetRequest");
  const key = field(raw, "key");
  if (key !== undefined && key !== null && typeof key !== "string") throw typeError(key, "string (field key)");
  if (key === undefined || key === null || key === "") throw apiError("keyRequired", {});
  if (isIllegalKey(key)) throw illegalKey(key, storeName);
  const etag = optionalString(field(raw, "etag"), "string (field etag)");
  const metadata = { ...stringMap(field(raw, "metadata"), "map[string]string"), ...queryMetadata };
  const rawOptions = field(raw, "options");
  if (rawOptions !== undefined && rawOptions !== null && !isRecord(rawOptions)) throw typeError(rawOptions, "state.SetStateOption");
  const optionsObj = isRecord(rawOptions) ? rawOptions : {};
  const fail = saveFailure(storeName);
  const options = parseOptions(
    optionalString(field(optionsObj, "concurrency"), "string (field concurrency)"),
    optionalString(field(optionsObj, "consistency"), "string (field consistency)"),
    fail,
  );
  checkTtl(metadata, fail);
  return { key, value: encodeValue(field(raw, "value")), etag: etag === "" ? undefined : etag, metadata, options };
}

/**
 * Maps a store error on save/delete as daprd's `stateErrorResponse`: etag mismatch 409, invalid etag
 * 400, input the store cannot represent 400 (when every failure is one), anything else 500. The
 * message lists distinct errors, at most {@link MAX_LISTED_ERRORS} of them.
 */
function storeError(fail: Failure, errors: readonly unknown[]): ApiError {
  const etagErrors = errors.filter(isETagError);
  const mismatch = etagErrors.find((e) => e.kind === "mismatch");
  const invalid = etagErrors.find((e) => e.kind === "invalid");
  const chosen = mismatch ?? invalid;
  if (chosen !== undefined) return fail(chosen.message, { status: chosen.kind === "mismatch" ? 409 : 400, cause: chosen });
  const messages = [...new Set(errors.map((e) => (e instanceof Error ? e.message : "unknown error")))];
  const listed = messages.slice(0, MAX_LISTED_ERRORS);
  if (messages.length > listed.length) listed.push(`(and ${messages.length - listed.length} more distinct errors)`);
  const status = errors.every(isInvalidInputError) ? 400 : undefined;
  return fail(listed.join("\n"), { status, cause: errors[0] });
}

/** Handles `POST|PUT /v1.0/state/{store}`. */
export async function saveState(ctx: StateContext, storeName: string, body: Uint8Array, queryMetadata: Record<string, string>): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName);
  const parsed = parseJsonBody(body, asDecoded);
  if (!Array.isArray(parsed)) throw typeError(parsed, "[]state.SetRequest");
  const items = parsed.map((raw) => parseSaveItem(raw, storeName, queryMetadata));
  const keyCtx = { appId: ctx.caller.appId, storeName, namespace: ctx.namespace };
  // Items are written in parallel (bounded) and not atomically, as daprd's BulkSet.
  const results = await mapWithConcurrency(items, STORE_CONCURRENCY, (item) =>
    settle(
      component.store.set(
        { key: prefixKey(component.keyPrefix, keyCtx, item.key), value: item.value, etag: item.etag, metadata: item.metadata, options: item.options },
        { abortSignal: ctx.abortSignal },
      ),
    ),
  );
  const failures = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failures.length > 0) throw storeError(saveFailure(storeName), failures);
  return empty();
}

/** The raw JSON to embed as `data`: stored text when it is JSON, else the text as a JSON string. */
function embeddable(data: string): string {
  try {
    JSON.parse(data);
    return data;
  } catch {
    return JSON.stringify(data);
  }
}

/** Handles `GET /v1.0/state/{store}/{key}`. */
export async function getState(ctx: StateContext, storeName: string, key: string, query: { consistency?: string; metadata: Record<string, string> }): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName);
  if (isIllegalKey(key)) throw illegalKey(key, storeName);
  const consistency = query.consistency !== undefined && CONSISTENCY.has(query.consistency) ? (query.consistency as StateOptions["consistency"]) : undefined;
  let item;
  try {
    item = await component.store.get(
      { key: prefixKey(component.keyPrefix, { appId: ctx.caller.appId, storeName, namespace: ctx.namespace }, key), metadata: query.metadata, options: { consistency } },
      { abortSignal: ctx.abortSignal },
    );
  } catch (e) {
    const status = isInvalidInputError(e) ? 400 : undefined;
    throw apiError("stateGet", { key, store: storeName, error: e instanceof Error ? e.message : "unknown error" }, { status, cause: e });
  }
  if (item === undefined) return empty();
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (item.etag !== undefined) headers.etag = item.etag;
  for (const [k, v] of Object.entries(item.metadata ?? {})) headers[`metadata.${k}`] = v;
  return { status: 200, headers, body: item.data };
}

/** A promise's outcome without rejecting, like one entry of `Promise.allSettled`. */
function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: "fulfilled", value }),
    (reason: unknown) => ({ status: "rejected", reason }),
  );
}

/** Handles `POST|PUT /v1.0/state/{store}/bulk`. */
export async function bulkGetState(ctx: StateContext, storeName: string, body: Uint8Array, queryMetadata: Record<string, string>): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName);
  const parsed = parseJsonBody(body, withPrefix);
  if (!isRecord(parsed)) throw withPrefix(unmarshalError(parsed, "BulkGetRequest"));
  const rawKeys = field(parsed, "keys");
  if (rawKeys !== undefined && rawKeys !== null && (!Array.isArray(rawKeys) || !rawKeys.every((k): k is string => typeof k === "string"))) {
    throw withPrefix("keys must be an array of strings");
  }
  const keys: string[] = Array.isArray(rawKeys) ? rawKeys : [];
  const rawParallelism = field(parsed, "parallelism");
  if (rawParallelism !== undefined && rawParallelism !== null && (typeof rawParallelism !== "number" || !Number.isInteger(rawParallelism))) {
    throw withPrefix("parallelism must be an integer");
  }
  const parallelism = typeof rawParallelism === "number" ? rawParallelism : 0;
  const metadata = { ...stringMap(field(parsed, "metadata"), "map[string]string"), ...queryMetadata };
  for (const key of keys) if (isIllegalKey(key)) throw illegalKey(key, storeName);
  const keyCtx = { appId: ctx.caller.appId, storeName, namespace: ctx.namespace };
  // daprd's `parallelism <= 0` means unlimited; here it is bounded like every other multi-key call.
  const limit = parallelism <= 0 ? STORE_CONCURRENCY : Math.min(parallelism, STORE_CONCURRENCY);
  const items = await mapWithConcurrency(keys, limit, async (key) => {
    try {
      const item = await component.store.get({ key: prefixKey(component.keyPrefix, keyCtx, key), metadata, options: {} }, { abortSignal: ctx.abortSignal });
      if (item === undefined) return `{"key":${goMarshal(key)}}`;
      const parts = [`"key":${goMarshal(key)}`, `"data":${embeddable(item.data)}`];
      if (item.etag !== undefined) parts.push(`"etag":${goMarshal(item.etag)}`);
      if (item.metadata !== undefined && Object.keys(item.metadata).length > 0) parts.push(`"metadata":${goMarshal(item.metadata)}`);
      return `{${parts.join(",")}}`;
    } catch (e) {
      return `{"key":${goMarshal(key)},"error":${goMarshal(sanitizeMessage(e instanceof Error ? e.message : "unknown error"))}}`;
    }
  });
  return { status: 200, headers: { "content-type": "application/json" }, body: `[${items.join(",")}]\n` };
}

/** Handles `DELETE /v1.0/state/{store}/{key}`. */
export async function deleteState(
  ctx: StateContext,
  storeName: string,
  key: string,
  query: { ifMatch: string | null; concurrency?: string; consistency?: string; metadata: Record<string, string> },
): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName);
  if (isIllegalKey(key)) throw illegalKey(key, storeName);
  const fail: Failure = (error, options) => apiError("stateDelete", { key, error }, options);
  const options = parseOptions(query.concurrency, query.consistency, fail);
  try {
    await component.store.delete(
      {
        key: prefixKey(component.keyPrefix, { appId: ctx.caller.appId, storeName, namespace: ctx.namespace }, key),
        etag: query.ifMatch === null || query.ifMatch === "" ? undefined : query.ifMatch,
        metadata: query.metadata,
        options,
      },
      { abortSignal: ctx.abortSignal },
    );
  } catch (e) {
    throw storeError(fail, [e]);
  }
  return empty();
}

/** Handles `POST|PUT /v1.0/state/{store}/transaction`. */
export async function transactState(ctx: StateContext, storeName: string, body: Uint8Array, queryMetadata: Record<string, string>): Promise<ApiResponse> {
  const component = lookupStateStore(ctx, storeName);
  const store = component.store;
  if (!isTransactionalStateStore(store)) {
    throw apiError("transactionsNotSupported", { store: storeName }, {
      details: [
        {
          "@type": "type.googleapis.com/google.rpc.Help",
          links: [{ description: "Check the list of state stores and the features they support", url: "https://docs.dapr.io/reference/components-reference/supported-state-stores/" }],
        },
        resourceInfo(storeName),
        errorInfo("DAPR_STATE_TRANSACTIONS_NOT_SUPPORTED", { appID: ctx.caller.appId }),
      ],
    });
  }
  const parsed = parseJsonBody(body, withPrefix);
  if (!isRecord(parsed)) throw withPrefix(unmarshalError(parsed, "state.TransactionalStateRequest"));
  const rawOperations = field(parsed, "operations");
  if (rawOperations !== undefined && rawOperations !== null && !Array.isArray(rawOperations)) {
    throw withPrefix(unmarshalError(rawOperations, "[]state.TransactionalStateOperation"));
  }
  const operationsIn: unknown[] = Array.isArray(rawOperations) ? rawOperations : [];
  const metadata = { ...stringMap(field(parsed, "metadata"), "map[string]string"), ...queryMetadata };
  if (operationsIn.length === 0) return empty();
  const keyCtx = { appId: ctx.caller.appId, storeName, namespace: ctx.namespace };
  const operations: TransactionOperation[] = operationsIn.map((raw) => {
    if (!isRecord(raw)) throw withPrefix(unmarshalError(raw, "state.TransactionalStateOperation"));
    const operation = field(raw, "operation");
    const request = field(raw, "request");
    if (request !== undefined && request !== null && !isRecord(request)) throw typeError(request, "map[string]interface{}");
    const req = isRecord(request) ? request : {};
    if (operation !== "upsert" && operation !== "delete") {
      throw apiError("stateOperationNotSupported", { operation: typeof operation === "string" ? operation : JSON.stringify(operation) });
    }
    const key = optionalString(field(req, "key"), "string (field key)") ?? "";
    // daprd stores an empty key as "<appid>||"; saves refuse it, and so do transactions here.
    if (key === "") throw apiError("keyRequired", {});
    if (isIllegalKey(key)) throw illegalKey(key, storeName);
    const etag = optionalString(field(req, "etag"), "string (field etag)");
    // Only the query-string metadata is copied into each operation (daprd), and it wins.
    const opMetadata = { ...stringMap(field(req, "metadata"), "map[string]string"), ...queryMetadata };
    const rawOptions = field(req, "options");
    if (rawOptions !== undefined && rawOptions !== null && !isRecord(rawOptions)) throw typeError(rawOptions, "state.SetStateOption");
    const optionsObj = isRecord(rawOptions) ? rawOptions : {};
    const options = parseOptions(
      optionalString(field(optionsObj, "concurrency"), "string (field concurrency)"),
      optionalString(field(optionsObj, "consistency"), "string (field consistency)"),
      transactionOptionFailure,
    );
    const fullKey = prefixKey(component.keyPrefix, keyCtx, key);
    const common = { key: fullKey, etag: etag === "" ? undefined : etag, metadata: opMetadata, options };
    if (operation === "delete") return { operation, request: common };
    checkTtl(opMetadata, transactionOptionFailure);
    return { operation, request: { ...common, value: encodeValue(field(req, "value")) } };
  });
  const max = store.maxOperationsPerTransaction();
  if (max !== undefined && operations.length > max) {
    throw apiError(
      "tooManyTransactionOperations",
      { count: operations.length, max },
      {
        details: [
          resourceInfo(storeName),
          errorInfo("DAPR_STATE_TOO_MANY_TRANSACTIONS", { currentOpsTransaction: String(operations.length), maxOpsPerTransaction: String(max) }),
        ],
      },
    );
  }
  try {
    await store.transact({ operations, metadata }, { abortSignal: ctx.abortSignal });
  } catch (e) {
    // Every store failure is a 500, etag conflicts included, as daprd; input the store cannot represent is a 400.
    const status = isInvalidInputError(e) ? 400 : undefined;
    throw apiError("stateTransaction", { error: e instanceof Error ? e.message : "unknown error" }, { status, cause: e });
  }
  return empty();
}
