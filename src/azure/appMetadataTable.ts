/**
 * @module Callers' app metadata (`PUT /v1.0/metadata/{key}`) in a table of the app's own storage
 * account, so every instance serves the same values: one partition per caller app-id, one row per key.
 */
import type { TableClient } from "@azure/data-tables";
import { createTableOnFirstUse } from "./storage";
import { decodeTableKey, encodeTableKey } from "./tableKeyCodec";

/** Where callers' metadata lives. */
export interface AppMetadataStore {
  /** Every entry of one caller. */
  list(appId: string): Promise<Record<string, string>>;
  /**
   * Sets one entry; replacing an existing key always succeeds.
   * @throws {@link MetadataLimitError} when adding the key would exceed `maxEntries`
   */
  set(appId: string, key: string, value: string, maxEntries: number): Promise<void>;
}

/** Adding a key would exceed the per-caller entry limit. */
export class MetadataLimitError extends Error {
  override readonly name = "MetadataLimitError";
}

/** The default table name. */
export const APP_METADATA_TABLE = "vaultstateappmetadata";

function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * The row of a caller's partition that lists its keys. `%7E` is an escaped `~`, which
 * {@link encodeTableKey} never escapes, so no caller key is stored under this RowKey.
 */
export const KEY_INDEX_ROW = "%7Eindex";

/** Attempts at adding a key when other writers keep changing the index first; each loss means another key went in. */
const MAX_ADD_ATTEMPTS = 256;

interface KeyIndex {
  keys: Set<string>;
  /** Undefined when the partition has no index row yet (it is created by the first add). */
  etag: string | undefined;
}

function isStatus(e: unknown, ...statuses: number[]): boolean {
  return typeof e === "object" && e !== null && statuses.includes((e as { statusCode?: unknown }).statusCode as number);
}

/**
 * An {@link AppMetadataStore} over a `TableClient` (built in src/azure/storage.ts); the table is
 * created on first use. The entry limit is exact under concurrent writers on any number of
 * instances: each caller's partition holds an index row listing its keys, and a new key is added
 * in one entity-group transaction that replaces the index under its etag and writes the value, so
 * of two concurrent adds one wins and the other re-reads the index and counts again. Replacing an
 * existing key touches only its own row. Partitions written before the index existed get one
 * built from their rows on the first add.
 */
export function createTableAppMetadataStore(client: TableClient): AppMetadataStore {
  const ensureTable = createTableOnFirstUse(client);
  const list = async (appId: string): Promise<Map<string, string>> => {
    await ensureTable();
    const entries = new Map<string, string>();
    const filter = `PartitionKey eq ${odataString(encodeTableKey(appId))}`;
    for await (const entity of client.listEntities<{ Value?: unknown }>({ queryOptions: { filter, select: ["RowKey", "Value"] } })) {
      if (typeof entity.rowKey === "string" && entity.rowKey !== KEY_INDEX_ROW && typeof entity.Value === "string") entries.set(decodeTableKey(entity.rowKey), entity.Value);
    }
    return entries;
  };
  const readIndex = async (appId: string): Promise<KeyIndex> => {
    try {
      const row = await client.getEntity<{ Keys?: unknown }>(encodeTableKey(appId), KEY_INDEX_ROW);
      const keys: unknown = typeof row.Keys === "string" ? JSON.parse(row.Keys) : [];
      return { keys: new Set(Array.isArray(keys) ? keys.filter((k): k is string => typeof k === "string") : []), etag: row.etag };
    } catch (e) {
      if (!isStatus(e, 404)) throw e;
      return { keys: new Set((await list(appId)).keys()), etag: undefined };
    }
  };
  // Adds of one caller on this instance run one after another, so they do not race each other for the index.
  const queues = new Map<string, Promise<unknown>>();
  const serialised = <T>(appId: string, work: () => Promise<T>): Promise<T> => {
    const run = (queues.get(appId) ?? Promise.resolve()).then(work, work);
    const tail = run.catch(() => undefined);
    queues.set(appId, tail);
    void tail.then(() => {
      if (queues.get(appId) === tail) queues.delete(appId);
    });
    return run;
  };
  return {
    async list(appId) {
      return Object.fromEntries(await list(appId));
    },
    async set(appId, key, value, maxEntries) {
      await ensureTable();
      const partitionKey = encodeTableKey(appId);
      const row = { partitionKey, rowKey: encodeTableKey(key), Value: value };
      await serialised(appId, async () => {
        for (let attempt = 0; attempt < MAX_ADD_ATTEMPTS; attempt++) {
          const index = await readIndex(appId);
          if (index.keys.has(key)) {
            await client.upsertEntity(row, "Replace");
            return;
          }
          if (index.keys.size >= maxEntries) throw new MetadataLimitError(`at most ${maxEntries} metadata entries per app`);
          const keys = { partitionKey, rowKey: KEY_INDEX_ROW, Keys: JSON.stringify([...index.keys, key]) };
          try {
            await client.submitTransaction([index.etag === undefined ? ["create", keys] : ["update", keys, "Replace", { etag: index.etag }], ["upsert", row, "Replace"]]);
            return;
          } catch (e) {
            // 412: another writer changed the index since it was read; 409: another writer created it first.
            if (!isStatus(e, 409, 412)) throw e;
          }
        }
        throw new Error(`metadata of ${appId} kept changing under ${MAX_ADD_ATTEMPTS} attempts to add a key`);
      });
    },
  };
}
