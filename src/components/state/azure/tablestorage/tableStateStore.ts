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
import { createTableClient } from "../../../../azure/storage";
import type { StateFeature } from "../../../features";
import type { ComponentProperties } from "../../../metadata";
import { hasErrorCode } from "../restError";
import { type ConditionalWriter, etagMismatch, normalizeETag, writeWithConditions } from "../../concurrency";
import {
  type DeleteStateRequest,
  type GetStateRequest,
  type GetStateResponse,
  type OperationOptions,
  type SetStateRequest,
  type TransactionalStateStore,
  type TransactionRequest,
} from "../../stateStore";
import { type Clock, expiryFromMetadata, isExpired, systemClock, ttlResponseMetadata } from "../../ttl";
import {
  type TableKeys,
  type TableStateStoreMetadata,
  VALUE_COLUMN,
  entityExpiry,
  isTableETag,
  parseTableStateStoreMetadata,
  tableKeysFor,
  valueEntity,
} from "./tableStateStoreMetadata";
import { MAX_BATCH_OPERATIONS, type PlannedAction, type RowHead, keysNeedingHead, planTableTransaction, transactionPartition } from "./tableTransaction";

/** Dependencies of the table state store. */
export interface TableStateStoreDeps {
  /** Time source for TTLs. */
  clock?: Clock;
  /** Builds the table client from parsed metadata; the default uses `src/azure/storage.ts`. */
  createTableClient?: (metadata: TableStateStoreMetadata) => TableClient;
}

const FEATURES: readonly StateFeature[] = ["ETAG", "TTL", "TRANSACTIONAL"];

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

/** An `If-Match` condition failed (412 `UpdateConditionNotSatisfied`). */
export function isUpdateConditionNotSatisfied(e: unknown): boolean {
  return hasErrorCode(e, "UpdateConditionNotSatisfied", 412);
}

/**
 * Creates a table state store; `init` parses metadata, builds the client once and creates the table
 * unless `skipCreateTable` is true.
 * @example
 * ```ts
 * const store = createTableStateStore();
 * await store.init({ accountName: "acct", tableName: "state" }); // managed identity
 * ```
 */
export function createTableStateStore(deps: TableStateStoreDeps = {}): TransactionalStateStore {
  const clock = deps.clock ?? systemClock;
  const buildClient = deps.createTableClient ?? ((m: TableStateStoreMetadata) => createTableClient(toAccountOptions(m)));
  let client: TableClient | undefined;
  let cosmosDbMode = false;
  const cleanups = new Set<Promise<void>>();

  const table = (): TableClient => {
    if (client === undefined) throw new Error("the table state store is not initialised");
    return client;
  };

  /** Best-effort removal of an expired row or tombstone, only if it still has the etag we saw. */
  const removeExpired = (keys: TableKeys, etag: string): void => {
    const cleanup = table()
      .deleteEntity(keys.partitionKey, keys.rowKey, { etag })
      .then(
        () => undefined,
        () => undefined, // rewritten or gone meanwhile: nothing to clean
      )
      .finally(() => cleanups.delete(cleanup));
    cleanups.add(cleanup);
  };

  const head = async (keys: TableKeys, abortSignal: AbortSignal | undefined): Promise<RowHead | undefined> => {
    try {
      const entity = await table().getEntity(keys.partitionKey, keys.rowKey, { abortSignal });
      return { etag: entity.etag, expired: isExpired(entityExpiry(entity), clock()) };
    } catch (e) {
      if (isEntityNotFound(e)) return undefined;
      throw e;
    }
  };

  return {
    async init(properties: ComponentProperties, options?: OperationOptions) {
      const metadata = parseTableStateStoreMetadata(properties);
      cosmosDbMode = metadata.cosmosDbMode;
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
      const data = entity[VALUE_COLUMN];
      if (typeof data !== "string") throw new Error(`the stored row has no string "${VALUE_COLUMN}" column`);
      const metadata = ttlResponseMetadata(expiresAt);
      return metadata === undefined ? { data, etag: entity.etag } : { data, etag: entity.etag, metadata };
    },

    async set(request: SetStateRequest, options?: OperationOptions) {
      const keys = tableKeysFor(request.key, cosmosDbMode);
      const abortSignal = options?.abortSignal;
      // Replace (never Merge), so a write without TTL drops an earlier expiry column.
      const entity = valueEntity(keys, request.value, expiryFromMetadata(request.metadata, clock()));
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

    maxOperationsPerTransaction() {
      return MAX_BATCH_OPERATIONS;
    },

    async transact(request: TransactionRequest, options?: OperationOptions) {
      if (request.operations.length === 0) return;
      const abortSignal = options?.abortSignal;
      // Fail on a cross-partition transaction before any I/O.
      transactionPartition(request.operations, cosmosDbMode);
      for (let attempt = 1; ; attempt++) {
        const heads = new Map<string, RowHead | undefined>();
        await Promise.all(
          keysNeedingHead(request.operations).map(async (key) => {
            heads.set(key, await head(tableKeysFor(key, cosmosDbMode), abortSignal));
          }),
        );
        const actions = planTableTransaction(request.operations, heads, { nowInMs: clock(), cosmosDbMode });
        let response;
        try {
          response = await table().submitTransaction(actions.map(toTransactionAction), { abortSignal });
        } catch (e) {
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
  };
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
