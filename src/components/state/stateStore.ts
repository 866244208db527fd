/**
 * @module The state store contract: one interface every state store provider implements.
 *
 * Mirrors Dapr's `state.Store` (components-contrib `state/store.go`, `state/requests.go`). Keys that
 * reach a provider are already prefixed (`<appId>||<key>` etc.); values are the JSON text the API
 * will return verbatim on GET.
 */
import type { StateFeature } from "../features";
import type { ComponentProperties } from "../metadata";
import type { OperationOptions } from "../secretstores/secretStore";

export type { OperationOptions };

/** Dapr's `options` on a state request. */
export interface StateOptions {
  concurrency?: "first-write" | "last-write";
  consistency?: "strong" | "eventual";
}

/** A save of one key. `value` is the JSON text to store (`"\"hello\""`, `"123"`, `"null"`, …). */
export interface SetStateRequest {
  key: string;
  value: string;
  /** Non-empty etag to match; `undefined` means unconditional (unless first-write). */
  etag?: string;
  metadata: Readonly<Record<string, string>>;
  options: StateOptions;
}

/** A read of one key. */
export interface GetStateRequest {
  key: string;
  metadata: Readonly<Record<string, string>>;
  options: Pick<StateOptions, "consistency">;
}

/** The stored item; `undefined` from `get` means missing (or expired). */
export interface GetStateResponse {
  /** The stored JSON text. */
  data: string;
  etag?: string;
  /** Response metadata, e.g. `ttlExpireTime` (RFC 3339 UTC) for TTL'd keys. */
  metadata?: Record<string, string>;
}

/** A delete of one key. Deleting a missing key without an etag succeeds. */
export interface DeleteStateRequest {
  key: string;
  etag?: string;
  metadata: Readonly<Record<string, string>>;
  options: StateOptions;
}

/** A state store provider instance. */
export interface StateStore {
  /**
   * Validates metadata, connects, creates the container/table unless disabled.
   * @throws {@link MetadataError} for invalid metadata
   */
  init(properties: ComponentProperties, options?: OperationOptions): Promise<void>;
  features(): readonly StateFeature[];
  /** @returns `undefined` when the key is missing or expired */
  get(request: GetStateRequest, options?: OperationOptions): Promise<GetStateResponse | undefined>;
  /** @throws {@link ETagError} on a mismatch or an invalid etag */
  set(request: SetStateRequest, options?: OperationOptions): Promise<void>;
  /** @throws {@link ETagError} on a mismatch or an invalid etag */
  delete(request: DeleteStateRequest, options?: OperationOptions): Promise<void>;
  close(): Promise<void>;
}

/** One operation of a transaction. */
export type TransactionOperation =
  | { operation: "upsert"; request: SetStateRequest }
  | { operation: "delete"; request: DeleteStateRequest };

/** A transaction: operations applied in order, atomically. */
export interface TransactionRequest {
  operations: readonly TransactionOperation[];
  metadata: Readonly<Record<string, string>>;
}

/** Optional ability: atomic, ordered multi-key transactions (`TRANSACTIONAL`). */
export interface TransactionalStateStore extends StateStore {
  /** The most operations one transaction may hold, or `undefined` for no limit. */
  maxOperationsPerTransaction(): number | undefined;
  /** @throws any error; the API reports every failure as 500 `ERR_STATE_TRANSACTION` */
  transact(request: TransactionRequest, options?: OperationOptions): Promise<void>;
}

/** Narrows a store to a {@link TransactionalStateStore} by its advertised features. */
export function isTransactionalStateStore(store: StateStore): store is TransactionalStateStore {
  return store.features().includes("TRANSACTIONAL") && "transact" in store;
}

/** One stored item a scan returns, with the position right after it. */
export interface ScannedItem {
  /** The full (prefixed) key. */
  key: string;
  data: string;
  etag: string;
  /** Opaque position after this item: pass it as `after` to continue behind it. */
  cursor: string;
}

/** A page of a scan. */
export interface ScanPage {
  items: ScannedItem[];
  /** True when nothing follows the last item. */
  done: boolean;
}

/**
 * Optional ability behind `QUERY_API`: lists the live items whose keys start with a prefix, in a
 * stable order, a bounded page at a time. The query language itself (filter, sort, paging) is
 * evaluated by the API over these pages, the same way for every store.
 */
export interface QueryableStateStore extends StateStore {
  /**
   * @param request.prefix - the caller's key prefix (`app||`); `""` scans the whole store
   * @param request.after - a cursor from an earlier item, or `undefined` to start at the beginning
   * @param request.limit - the most items to return
   * @throws {@link RangeError} for a cursor this store did not issue
   */
  scan(request: { prefix: string; after?: string; limit: number }, options?: OperationOptions): Promise<ScanPage>;
}

/** Narrows a store to a {@link QueryableStateStore} by its advertised features. */
export function isQueryableStateStore(store: StateStore): store is QueryableStateStore {
  return store.features().includes("QUERY_API") && "scan" in store;
}

/**
 * Thrown by providers for a value larger than the store can hold. A `RangeError`, so the API answers
 * 400 with the operation's error code and this message, which names the limit.
 */
export class ValueTooLargeError extends RangeError {
  override readonly name = "ValueTooLargeError";
}

/** Why a store could not answer: it took longer than the deadline, or could not be reached or failed. */
export type StateStoreFailure = "timeout" | "unavailable";

/**
 * Thrown by providers when the backing service is too slow, unreachable or failing. The message is
 * written for callers: it never carries an address, port, URL, request id or the service's own text.
 */
export class StateStoreUnavailableError extends Error {
  override readonly name = "StateStoreUnavailableError";
  constructor(
    readonly failure: StateStoreFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Narrows an unknown error to a {@link StateStoreUnavailableError}. */
export function isStateStoreUnavailableError(e: unknown): e is StateStoreUnavailableError {
  return e instanceof Error && e.name === "StateStoreUnavailableError";
}

/** Why an etag check failed: Dapr maps `mismatch` to 409 and `invalid` to 400. */
export type ETagErrorKind = "mismatch" | "invalid";

/** Thrown by providers for etag and first-write conflicts (Dapr `state.ETagError`). */
export class ETagError extends Error {
  override readonly name = "ETagError";
  constructor(
    readonly kind: ETagErrorKind,
    options?: { cause?: unknown },
  ) {
    const inner = options?.cause instanceof Error ? options.cause.message : String(options?.cause ?? kind);
    super(kind === "mismatch" ? `possible etag mismatch. error from state store: ${inner}` : `invalid etag value: ${inner}`, options);
  }
}

/** Narrows an unknown error to an {@link ETagError}. */
export function isETagError(e: unknown): e is ETagError {
  return e instanceof Error && e.name === "ETagError";
}
