/**
 * @module `state.in-memory`: state kept in this process (development, tests, single-instance caches).
 *
 * Features ETAG, TRANSACTIONAL and TTL, like Dapr's in-memory store. Differences from Dapr, on
 * purpose (see `../concurrency.ts`): an etag this store never issues (not a UUID) on a key that does
 * not exist creates it, and `ttlExpireTime` is reported. Data is per instance: a Functions app with several instances has
 * several unrelated stores.
 *
 * ```yaml
 * apiVersion: dapr.io/v1alpha1
 * kind: Component
 * metadata: { name: memstore }
 * spec: { type: state.in-memory, version: v1, metadata: [] }
 * ```
 */
import { randomUUID } from "node:crypto";
import type { StateFeature } from "../../features";
import { alreadyExists, etagMismatch, etagOfMissingItem, normalizeETag } from "../concurrency";
import type {
  DeleteStateRequest,
  GetStateResponse,
  OperationOptions,
  SetStateRequest,
  QueryableStateStore,
  ScanPage,
  TransactionalStateStore,
  TransactionRequest,
} from "../stateStore";
import { type Clock, expiryFromMetadata, isExpired, systemClock, ttlResponseMetadata } from "../ttl";

/** Dependencies of the in-memory store; both default to the real thing. */
export interface InMemoryStateStoreDeps {
  /** Time source for TTLs. */
  clock?: Clock;
  /** Etag generator (a UUID per write, like Dapr). */
  newETag?: () => string;
  /** Whether an etag has the form `newETag` produces; the default matches UUIDs. */
  isIssuedETag?: (etag: string) => boolean;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

interface Item {
  data: string;
  etag: string;
  expiresAt: number | undefined;
}

/** A key → item view; `undefined` means missing. Transactions stage writes in an overlay view. */
interface View {
  get(key: string): Item | undefined;
  set(key: string, item: Item | undefined): void;
}

const FEATURES: readonly StateFeature[] = ["ETAG", "TRANSACTIONAL", "TTL", "QUERY_API"];

/**
 * Creates an in-memory state store.
 * @example
 * ```ts
 * const store = createInMemoryStateStore({ clock: () => fakeNow });
 * await store.init({});
 * await store.set({ key: "demo||k", value: '"v"', metadata: {}, options: {} });
 * ```
 */
export function createInMemoryStateStore(deps: InMemoryStateStoreDeps = {}): TransactionalStateStore & QueryableStateStore {
  const clock = deps.clock ?? systemClock;
  const newETag = deps.newETag ?? randomUUID;
  const isIssuedETag = deps.isIssuedETag ?? ((etag: string) => UUID.test(etag));
  const items = new Map<string, Item>();
  let writesSinceSweep = 0;

  const base: View = {
    get: (key) => items.get(key),
    set: (key, item) => (item === undefined ? items.delete(key) : items.set(key, item)),
  };

  /** The live item, or `undefined` when missing or expired (expired items are dropped on sight). */
  const live = (view: View, key: string, now: number): Item | undefined => {
    const item = view.get(key);
    if (item !== undefined && isExpired(item.expiresAt, now)) {
      view.set(key, undefined);
      return undefined;
    }
    return item;
  };

  const applySet = (view: View, request: SetStateRequest, now: number): void => {
    const expiresAt = expiryFromMetadata(request.metadata, now);
    const current = live(view, request.key, now);
    const etag = normalizeETag(request.etag);
    if (etag !== undefined) {
      // A live item must match; on a missing key only an etag we never issue creates it (module policy).
      if (current !== undefined && current.etag !== etag) throw etagMismatch();
      if (current === undefined && isIssuedETag(etag)) throw etagOfMissingItem();
    } else if (request.options.concurrency === "first-write" && current !== undefined) {
      throw alreadyExists();
    }
    view.set(request.key, { data: request.value, etag: newETag(), expiresAt });
  };

  const applyDelete = (view: View, request: DeleteStateRequest, now: number): void => {
    const current = live(view, request.key, now);
    const etag = normalizeETag(request.etag);
    if (etag !== undefined && current?.etag !== etag) throw etagMismatch();
    view.set(request.key, undefined);
  };

  /** Drops expired items once the write count reaches the item count: amortised O(1) per write. */
  const sweepNow = (now: number): void => {
    if (++writesSinceSweep < items.size) return;
    writesSinceSweep = 0;
    for (const [key, item] of items) if (isExpired(item.expiresAt, now)) items.delete(key);
  };

  return {
    async init() {},

    features(): readonly StateFeature[] {
      return FEATURES;
    },

    async get(request, options?: OperationOptions): Promise<GetStateResponse | undefined> {
      options?.abortSignal?.throwIfAborted();
      const item = live(base, request.key, clock());
      if (item === undefined) return undefined;
      const metadata = ttlResponseMetadata(item.expiresAt);
      return metadata === undefined ? { data: item.data, etag: item.etag } : { data: item.data, etag: item.etag, metadata };
    },

    async set(request, options) {
      options?.abortSignal?.throwIfAborted();
      const now = clock();
      applySet(base, request, now);
      sweepNow(now);
    },

    async delete(request, options) {
      options?.abortSignal?.throwIfAborted();
      applyDelete(base, request, clock());
    },

    /** Keys in code-unit order after the cursor (the last key returned): O(n log n) per page. */
    async scan(request, options): Promise<ScanPage> {
      options?.abortSignal?.throwIfAborted();
      const now = clock();
      const keys = [...items.keys()].filter((k) => k.startsWith(request.prefix) && (request.after === undefined || k > request.after)).sort();
      const page: ScanPage = { items: [], done: true };
      for (const key of keys) {
        const item = live(base, key, now);
        if (item === undefined) continue;
        if (page.items.length >= request.limit) {
          page.done = false;
          break;
        }
        page.items.push({ key, data: item.data, etag: item.etag, cursor: key });
      }
      return page;
    },

    maxOperationsPerTransaction() {
      return undefined;
    },

    async transact(request: TransactionRequest, options) {
      options?.abortSignal?.throwIfAborted();
      const now = clock();
      // Apply every operation, in order, to an overlay; commit only if all of them succeeded, so a
      // failure anywhere leaves the store untouched and later operations see earlier ones.
      const staged = new Map<string, Item | undefined>();
      const overlay: View = {
        get: (key) => (staged.has(key) ? staged.get(key) : items.get(key)),
        set: (key, item) => staged.set(key, item),
      };
      for (const op of request.operations) {
        if (op.operation === "upsert") applySet(overlay, op.request, now);
        else applyDelete(overlay, op.request, now);
      }
      for (const [key, item] of staged) base.set(key, item);
      sweepNow(now);
    },

    async close() {
      items.clear();
    },
  };
}
