/**
 * @module `state.azure.tablestorage`: one row per key; PartitionKey = the key's prefix (app-id),
 * RowKey = the rest, the JSON text in the string column `Value` (Dapr's layout).
 *
 * Beyond Dapr (ETAG only there): TTL (an Edm.DateTime column, expired rows read as missing and are
 * removed lazily, conditionally on the etag read) and atomic transactions through one Table batch when
 * every key shares a partition (at most 100 operations). Features: ETAG, TTL, TRANSACTIONAL.
 *
 * ```yaml
 * spec:
 *   type: state.azure.tablestorage
 *   version: v1
 *   metadata:
 *   - { name: accountName, value: mystorage }
 *   - { name: tableName, value: state }
 *   - { name: accountKey, secretKeyRef: { name: storage-key, key: storage-key } }  # omit for managed identity
 * ```
 */
import type { TableClient, TransactionAction } from "@azure/data-tables";
import type { AzureClients } from "../../../../azure/clients";
import { DEFAULT_STORAGE_TIMEOUT_IN_MS, storageDeadline } from "../../../../azure/storage";
import type { StateFeature } from "../../../features";
import type { ComponentProperties } from "../../../metadata";
import { withStorageDeadlines } from "../deadline";
import { hasErrorCode } from "../../../../azure/errors";
import { type ConditionalWriter, etagMismatch, normalizeETag, writeWithConditions } from "../../concurrency";
import {
  type DeleteStateRequest,
  type GetStateRequest,
  type GetStateResponse,
  type OperationOptions,
  type SetStateRequest,
  type QueryableStateStore,
  type ScanPage,
  type TransactionalStateStore,
  type TransactionRequest,
  ValueTooLargeError,
} from "../../stateStore";
import { type Clock, expiryFromMetadata, isExpired, systemClock, ttlResponseMetadata } from "../../ttl";
import {
  EXPIRY_COLUMN,
  type TableKeys,
  type TableStateStoreMetadata,
  type ValueLayout,
  entityExpiry,
  entityValue,
  isPartedValue,
  isTableETag,
  parseTableStateStoreMetadata,
  stateKeyOf,
  tableKeysFor,
  tooLarge,
  valueEntity,
} from "./tableStateStoreMetadata";
import { MAX_BATCH_OPERATIONS, type PlannedAction, type RowHead, keysNeedingHead, planTableTransaction, transactionPartition } from "./tableTransaction";

/** Dependencies of the table state store. */
export interface TableStateStoreDeps {
  /** Time source for TTLs. */
  clock?: Clock;
  /** The app's Azure client factories (the table client is built from parsed metadata in `init`). */
  azure: Pick<AzureClients, "table">;
}

const FEATURES: readonly StateFeature[] = ["ETAG", "TTL", "TRANSACTIONAL", "QUERY_API"];

/** Rows fetched per service call while scanning (each may hold up to 1 MiB). */
const SCAN_PAGE_ROWS = 100;

function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The server-side filter of a scan: the caller's partition (a `app||` prefix is exactly one
 * partition), and the rows after the cursor, in the service's (PartitionKey, RowKey) order.
 */
function scanFilter(prefix: string, after: [string, string] | undefined, cosmosDbMode: boolean): string | undefined {
  const clauses: string[] = [];
  if (prefix !== "") {
    if (!prefix.endsWith("||") || prefix.slice(0, -2).includes("||")) throw new RangeError(`a table scan needs a prefix of the form "<partition>||", got "${prefix}"`);
    clauses.push(`PartitionKey eq ${odataString(tableKeysFor(`${prefix}x`, cosmosDbMode).partitionKey)}`);
  }
  if (after !== undefined) {
    const [pk, rk] = after;
    clauses.push(`(PartitionKey gt ${odataString(pk)} or (PartitionKey eq ${odataString(pk)} and RowKey gt ${odataString(rk)}))`);
  }
  return clauses.length === 0 ? undefined : clauses.join(" and ");
}

function parseTableCursor(cursor: string | undefined): [string, string] | undefined {
  if (cursor === undefined) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 2 || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") throw new RangeError("invalid scan cursor");
  return [parsed[0], parsed[1]];
}

/** Re-plans after a batch lost a race; each lap means another writer changed a row in between. */
const MAX_TRANSACTION_ATTEMPTS = 3;

/** The row does not exist (`ResourceNotFound`; a missing table is `TableNotFound`, not this). */
export function isEntityNotFound(e: unknown): boolean {
  return hasErrorCode(e, "ResourceNotFound", 404);
}

/** An insert met an existing row (409 `EntityAlreadyExists`). */
export function isEntityAlreadyExists(e: unknown): boolean {
  return hasErrorCode(e, "EntityAlreadyExists", 409);
}

/**
 * The service refused an entity, a property or a batch as too large (`EntityTooLarge`,
 * `PropertyValueTooLarge`, `RequestBodyTooLarge`).
 */
export function isTooLarge(e: unknown): boolean {
  return hasErrorCode(e, "EntityTooLarge", 413) || hasErrorCode(e, "PropertyValueTooLarge", 413) || hasErrorCode(e, "RequestBodyTooLarge", 413);
}

/**
 * Runs a write with the binary layout for large values, and once more with the text layout when the
 * service refuses the binary form as too large (it counts the request's JSON text, as Azurite does).
 * A refused write changed nothing, so repeating it is safe.
 * @throws {@link ValueTooLargeError} when neither layout fits
 */
async function withLayoutFallback(large: boolean, bytes: () => number, write: (layout: ValueLayout) => Promise<void>): Promise<void> {
  try {
    await write("binary");
    return;
  } catch (e) {
    if (!isTooLarge(e)) throw e;
    if (!large) throw tooLarge(bytes());
  }
  try {
    await write("text");
  } catch (e) {
    if (isTooLarge(e)) throw tooLarge(bytes());
    throw e;
  }
}

/** An `If-Match` condition failed (412 `UpdateConditionNotSatisfied`). */
export function isUpdateConditionNotSatisfied(e: unknown): boolean {
  return hasErrorCode(e, "UpdateConditionNotSatisfied", 412);
}

/**
 * Creates a table state store; `init` parses metadata, builds the client once and creates the table
 * unless `skipCreateTable` is true.
 * @example
 * ```ts
 * const store = createTableStateStore({ azure: createAzureClients(settings.environment) });
 * await store.init({ accountName: "acct", tableName: "state" }); // managed identity
 * ```
 */
export function createTableStateStore(deps: TableStateStoreDeps): TransactionalStateStore & QueryableStateStore {
  const clock = deps.clock ?? systemClock;
  const buildClient = (m: TableStateStoreMetadata): TableClient => deps.azure.table(toAccountOptions(m));
  let client: TableClient | undefined;
  let cosmosDbMode = false;
  let timeoutInMs = DEFAULT_STORAGE_TIMEOUT_IN_MS;
  const cleanups = new Set<Promise<void>>();

  const table = (): TableClient => {
    if (client === undefined) throw new Error("the table state store is not initialised");
    return client;
  };

  /** Best-effort removal of an expired row or tombstone, only if it still has the etag we saw. */
  const removeExpired = (keys: TableKeys, etag: string): void => {
    const cleanup = table()
      .deleteEntity(keys.partitionKey, keys.rowKey, { etag, abortSignal: storageDeadline(undefined, timeoutInMs) })
      .then(
        () => undefined,
        () => undefined, // rewritten or gone meanwhile: nothing to clean
      )
      .finally(() => cleanups.delete(cleanup));
    cleanups.add(cleanup);
  };

  const head = async (keys: TableKeys, abortSignal: AbortSignal | undefined): Promise<RowHead | undefined> => {
    try {
      // Only the expiry: a large value's parts are not worth downloading for a condition check.
      const entity = await table().getEntity(keys.partitionKey, keys.rowKey, { abortSignal, queryOptions: { select: [EXPIRY_COLUMN] } });
      return { etag: entity.etag, expired: isExpired(entityExpiry(entity), clock()) };
    } catch (e) {
      if (isEntityNotFound(e)) return undefined;
      throw e;
    }
  };

  // Every operation runs under its deadline (the request's, or `timeoutInSeconds`), with caller-safe errors.
  return withStorageDeadlines<TransactionalStateStore & QueryableStateStore>({
    async init(properties: ComponentProperties, options?: OperationOptions) {
      const metadata = parseTableStateStoreMetadata(properties);
      cosmosDbMode = metadata.cosmosDbMode;
      timeoutInMs = metadata.timeoutInMs;
      client = buildClient(metadata);
      // createTable ignores "already exists".
      if (!metadata.skipCreateTable) await client.createTable({ abortSignal: options?.abortSignal });
    },

    features(): readonly StateFeature[] {
      return FEATURES;
    },

    async get(request: GetStateRequest, options?: OperationOptions): Promise<GetStateResponse | undefined> {
      const keys = tableKeysFor(request.key, cosmosDbMode);
      let entity;
      try {
        entity = await table().getEntity(keys.partitionKey, keys.rowKey, { abortSignal: options?.abortSignal });
      } catch (e) {
        if (isEntityNotFound(e)) return undefined;
        throw e;
      }
      const expiresAt = entityExpiry(entity);
      if (isExpired(expiresAt, clock())) {
        removeExpired(keys, entity.etag);
        return undefined;
      }
      const data = entityValue(entity);
      if (data === undefined) throw new Error("the stored row holds no readable value");
      const metadata = ttlResponseMetadata(expiresAt);
      return metadata === undefined ? { data, etag: entity.etag } : { data, etag: entity.etag, metadata };
    },

    async set(request: SetStateRequest, options?: OperationOptions) {
      const keys = tableKeysFor(request.key, cosmosDbMode);
      const abortSignal = options?.abortSignal;
      const expiresAt = expiryFromMetadata(request.metadata, clock());
      await withLayoutFallback(isPartedValue(request.value), () => Buffer.byteLength(request.value), async (layout) => {
        // Replace (never Merge), so a write without TTL drops an earlier expiry column, and a
        // smaller value drops the parts of an earlier large one.
        const entity = valueEntity(keys, request.value, expiresAt, layout);
        const writer: ConditionalWriter = {
          async put() {
            await table().upsertEntity(entity, "Replace", { abortSignal });
          },
          async putIfMatch(etag) {
            try {
              await table().updateEntity(entity, "Replace", { etag, abortSignal });
              return true;
            } catch (e) {
              if (isUpdateConditionNotSatisfied(e) || isEntityNotFound(e)) return false;
              throw e;
            }
          },
          async putIfAbsent() {
            try {
              await table().createEntity(entity, { abortSignal });
              return true;
            } catch (e) {
              if (isEntityAlreadyExists(e)) return false;
              throw e;
            }
          },
          head: () => head(keys, abortSignal),
        };
        await writeWithConditions(writer, {
          etag: request.etag,
          firstWrite: request.options.concurrency === "first-write",
          canMatch: isTableETag,
          isIssued: isTableETag,
        });
      });
    },

    async delete(request: DeleteStateRequest, options?: OperationOptions) {
      const keys = tableKeysFor(request.key, cosmosDbMode);
      const abortSignal = options?.abortSignal;
      const etag = normalizeETag(request.etag);
      if (etag === undefined) {
        try {
          await table().deleteEntity(keys.partitionKey, keys.rowKey, { abortSignal });
        } catch (e) {
          // Deleting a missing row without an etag is a no-op (Dapr).
          if (!isEntityNotFound(e)) throw e;
        }
        return;
      }
      // An expired row counts as missing, so its old etag must not delete it: look first; the delete
      // itself stays conditional, so a write in between still wins.
      const current = isTableETag(etag) ? await head(keys, abortSignal) : undefined;
      if (current === undefined || current.expired || current.etag !== etag) throw etagMismatch();
      try {
        await table().deleteEntity(keys.partitionKey, keys.rowKey, { etag, abortSignal });
      } catch (e) {
        if (isUpdateConditionNotSatisfied(e) || isEntityNotFound(e)) throw etagMismatch(e);
        throw e;
      }
    },

    async scan(request, options): Promise<ScanPage> {
      const filter = scanFilter(request.prefix, parseTableCursor(request.after), cosmosDbMode);
      const page: ScanPage = { items: [], done: true };
      const now = clock();
      const pages = table()
        .listEntities<Record<string, unknown>>({ queryOptions: filter === undefined ? {} : { filter }, abortSignal: options?.abortSignal })
        .byPage({ maxPageSize: Math.max(1, Math.min(request.limit + 1, SCAN_PAGE_ROWS)) });
      for await (const rows of pages) {
        for (const entity of rows) {
          const keys = { partitionKey: entity.partitionKey ?? "", rowKey: entity.rowKey ?? "" };
          const data = entityValue(entity);
          // Tombstones and expired rows are missing; so are foreign rows without a value.
          if (data === undefined || isExpired(entityExpiry(entity), now)) continue;
          if (page.items.length >= request.limit) {
            page.done = false;
            return page;
          }
          page.items.push({ key: stateKeyOf(keys, cosmosDbMode), data, etag: entity.etag ?? "", cursor: JSON.stringify([keys.partitionKey, keys.rowKey]) });
        }
      }
      return page;
    },

    maxOperationsPerTransaction() {
      return MAX_BATCH_OPERATIONS;
    },

    async transact(request: TransactionRequest, options?: OperationOptions) {
      if (request.operations.length === 0) return;
      const abortSignal = options?.abortSignal;
      // Fail on a cross-partition transaction or an oversized batch before any I/O.
      transactionPartition(request.operations, cosmosDbMode);
      checkBatchSize(request);
      const anyParted = request.operations.some((op) => op.operation === "upsert" && isPartedValue(op.request.value));
      let layout: ValueLayout = "binary";
      for (let attempt = 1; ; attempt++) {
        const heads = new Map<string, RowHead | undefined>();
        await Promise.all(
          keysNeedingHead(request.operations).map(async (key) => {
            heads.set(key, await head(tableKeysFor(key, cosmosDbMode), abortSignal));
          }),
        );
        const actions = planTableTransaction(request.operations, heads, { nowInMs: clock(), cosmosDbMode, layout });
        let response;
        try {
          response = await table().submitTransaction(actions.map(toTransactionAction), { abortSignal });
        } catch (e) {
          if (isTooLarge(e)) {
            // As for single writes: nothing was written; retry once with string parts.
            if (!anyParted || layout === "text") throw new ValueTooLargeError("the transaction is larger than Azure Table Storage accepts in one batch (4 MiB, 1 MiB per entity)");
            layout = "text";
            attempt--;
            continue;
          }
          const conflict = isUpdateConditionNotSatisfied(e) || isEntityAlreadyExists(e) || isEntityNotFound(e);
          if (!conflict) throw e;
          // The batch is all-or-nothing, so nothing was written. A row changed after it was read:
          // read again and re-plan, which turns a real conflict into a mismatch and lets a benign one
          // (an expired leftover cleaned up meanwhile) succeed.
          if (attempt >= MAX_TRANSACTION_ATTEMPTS) throw etagMismatch(e);
          continue;
        }
        actions.forEach((action, i) => {
          const etag = response.subResponses[i]?.etag?.trim();
          if (action.tombstone && etag !== undefined && etag !== "") removeExpired(action.entity, etag);
        });
        return;
      }
    },

    async close() {
      await Promise.allSettled([...cleanups]);
      client = undefined;
    },
  }, () => timeoutInMs);
}

/** The most value bytes one batch may carry: Azure's 4 MiB batch limit, with base64 binary parts. */
export const MAX_BATCH_VALUE_BYTES = 3 * 1024 * 1024;

/** @throws {@link ValueTooLargeError} when the values of a transaction cannot fit in one batch */
function checkBatchSize(request: TransactionRequest): void {
  let total = 0;
  for (const op of request.operations) if (op.operation === "upsert") total += Buffer.byteLength(op.request.value);
  if (total > MAX_BATCH_VALUE_BYTES) {
    throw new ValueTooLargeError(`the transaction's values total ${total} bytes; one Azure Table batch holds at most ${MAX_BATCH_VALUE_BYTES} bytes of values (its request limit is 4 MiB)`);
  }
}

function toTransactionAction(action: PlannedAction): TransactionAction {
  switch (action.kind) {
    case "upsert":
      return ["upsert", action.entity, "Replace"];
    case "create":
      return ["create", action.entity];
    case "update":
      return ["update", action.entity, "Replace", { etag: action.etag }];
  }
}

/** Maps parsed metadata to the client factory's options. */
function toAccountOptions(m: TableStateStoreMetadata) {
  return {
    accountName: m.accountName,
    accountKey: m.accountKey,
    connectionString: m.connectionString,
    endpoint: m.serviceURL,
    clientId: m.azureClientId,
    tableName: m.tableName,
    cosmosDb: m.cosmosDbMode,
  };
}
