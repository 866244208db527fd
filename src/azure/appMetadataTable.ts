/**
 * @module Callers' app metadata (`PUT /v1.0/metadata/{key}`) in a table of the app's own storage
 * account, so every instance serves the same values: one partition per caller app-id, one row per key.
 */
import type { TableClient } from "@azure/data-tables";
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
 * An {@link AppMetadataStore} over a `TableClient` (built in src/azure/storage.ts); the table is
 * created on first use. The entry limit is checked before a new key is added, so concurrent adds
 * on several instances may overshoot it by a few entries.
 */
export function createTableAppMetadataStore(client: TableClient): AppMetadataStore {
  let created: Promise<void> | undefined;
  const ensureTable = (): Promise<void> => {
    created ??= client.createTable().catch((e: unknown) => {
      created = undefined;
      throw e;
    });
    return created;
  };
  const list = async (appId: string): Promise<Map<string, string>> => {
    await ensureTable();
    const entries = new Map<string, string>();
    const filter = `PartitionKey eq ${odataString(encodeTableKey(appId))}`;
    for await (const entity of client.listEntities<{ Value?: unknown }>({ queryOptions: { filter, select: ["RowKey", "Value"] } })) {
      if (typeof entity.rowKey === "string" && typeof entity.Value === "string") entries.set(decodeTableKey(entity.rowKey), entity.Value);
    }
    return entries;
  };
  return {
    async list(appId) {
      return Object.fromEntries(await list(appId));
    },
    async set(appId, key, value, maxEntries) {
      const existing = await list(appId);
      if (!existing.has(key) && existing.size >= maxEntries) throw new MetadataLimitError(`at most ${maxEntries} metadata entries per app`);
      await client.upsertEntity({ partitionKey: encodeTableKey(appId), rowKey: encodeTableKey(key), Value: value }, "Replace");
    },
  };
}
