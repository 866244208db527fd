/**
 * @module Pure parts of `state.azure.tablestorage`: component metadata (fields and aliases as Dapr's
 * `metadata.yaml`), key → PartitionKey/RowKey, the entity shape, and etag form.
 */
import { type ComponentProperties, MetadataError, getProperty, parseBoolean } from "../../../metadata";
import { parseStoredExpiry } from "../../ttl";

/** Dapr's alias lists (components-contrib `common/authentication/azure/metadata-properties.go`). */
export const TABLE_METADATA_KEYS = {
  accountName: ["accountName", "storageAccount", "storageAccountName"],
  accountKey: ["accountKey", "accessKey", "storageAccessKey", "storageAccountKey"],
  tableName: ["tableName", "table", "storageAccountTable"],
  connectionString: ["connectionString"],
  serviceURL: ["serviceURL"],
  cosmosDbMode: ["cosmosDbMode"],
  skipCreateTable: ["skipCreateTable"],
  azureClientId: ["azureClientId", "spnClientId", "clientId"],
} as const satisfies Record<string, readonly string[]>;

/** Typed metadata of the table state store. */
export interface TableStateStoreMetadata {
  /** Absent only when `connectionString` is given. */
  accountName?: string;
  accountKey?: string;
  connectionString?: string;
  tableName: string;
  serviceURL?: string;
  cosmosDbMode: boolean;
  skipCreateTable: boolean;
  azureClientId?: string;
}

/**
 * Parses and validates the table store's component metadata (pure).
 * @throws {@link MetadataError} naming the field: missing `tableName`, missing `accountName` without
 *   `connectionString`, or a non-boolean `cosmosDbMode` / `skipCreateTable`
 */
export function parseTableStateStoreMetadata(properties: ComponentProperties): TableStateStoreMetadata {
  const get = (names: readonly string[]): string | undefined => getProperty(properties, ...names);
  const connectionString = get(TABLE_METADATA_KEYS.connectionString);
  const accountName = get(TABLE_METADATA_KEYS.accountName);
  if (accountName === undefined && connectionString === undefined) {
    throw new MetadataError("accountName", 'missing required metadata field "accountName" (or "connectionString")');
  }
  const tableName = get(TABLE_METADATA_KEYS.tableName);
  if (tableName === undefined) throw new MetadataError("tableName", 'missing required metadata field "tableName"');
  const metadata: TableStateStoreMetadata = {
    tableName,
    cosmosDbMode: parseBoolean("cosmosDbMode", get(TABLE_METADATA_KEYS.cosmosDbMode), false),
    skipCreateTable: parseBoolean("skipCreateTable", get(TABLE_METADATA_KEYS.skipCreateTable), false),
  };
  if (accountName !== undefined) metadata.accountName = accountName;
  const accountKey = get(TABLE_METADATA_KEYS.accountKey);
  if (accountKey !== undefined) metadata.accountKey = accountKey;
  if (connectionString !== undefined) metadata.connectionString = connectionString;
  const serviceURL = get(TABLE_METADATA_KEYS.serviceURL);
  if (serviceURL !== undefined) metadata.serviceURL = serviceURL;
  const azureClientId = get(TABLE_METADATA_KEYS.azureClientId);
  if (azureClientId !== undefined) metadata.azureClientId = azureClientId;
  return metadata;
}

/** Cosmos DB's Table API rejects an empty RowKey; Dapr stores this placeholder instead. */
export const COSMOS_EMPTY_ROW_KEY = "_dapr_empty_row_key_value_";

/** Where a state key lives in the table (a type, not an interface, so entities stay assignable to the SDK's records). */
export type TableKeys = {
  partitionKey: string;
  rowKey: string;
};

/**
 * Maps a state key to PartitionKey/RowKey (pure): the part before the first `||` is the partition
 * (the app-id prefix), the rest is the row, so `app||k` → (`app`, `k`) exactly as Dapr. Unlike Dapr,
 * `a||b||c` → (`a`, `b||c`) rather than (`a`, `""`), which would make such keys collide. A key without
 * `||` → (key, `""`), as Dapr.
 * @throws {@link RangeError} when a part holds a character Azure Tables forbids in keys
 */
export function tableKeysFor(key: string, cosmosDbMode = false): TableKeys {
  const at = key.indexOf("||");
  const partitionKey = at < 0 ? key : key.slice(0, at);
  let rowKey = at < 0 ? "" : key.slice(at + 2);
  if (rowKey === "" && cosmosDbMode) rowKey = COSMOS_EMPTY_ROW_KEY;
  if (!isValidTableKey(partitionKey) || !isValidTableKey(rowKey)) {
    throw new RangeError("the state key contains a character Azure Table Storage forbids in keys (/ \\ # ? or a control character)");
  }
  // Azure caps each key at 1 KiB, counted in UTF-16 (2 bytes per code unit); longer keys would be
  // a 400 from the service, reported without a useful message.
  if (partitionKey.length * 2 > MAX_TABLE_KEY_BYTES || rowKey.length * 2 > MAX_TABLE_KEY_BYTES) {
    throw new RangeError(`the state key is longer than Azure Table Storage allows (${MAX_TABLE_KEY_BYTES} bytes per PartitionKey or RowKey)`);
  }
  return { partitionKey, rowKey };
}

/** Azure's size limit for PartitionKey and RowKey. */
const MAX_TABLE_KEY_BYTES = 1024;

/** Azure Tables forbid `/ \ # ?` and control characters in PartitionKey and RowKey. */
export function isValidTableKey(part: string): boolean {
  for (const ch of part) {
    const code = ch.charCodeAt(0);
    if (ch === "/" || ch === "\\" || ch === "#" || ch === "?" || code <= 0x1f || (code >= 0x7f && code <= 0x9f)) return false;
  }
  return true;
}

/**
 * Whether an etag has the only form Azure Tables issues (`W/"datetime'…'"`). Any other text cannot
 * match a row, so it is never sent: the service would answer 400 instead of 412.
 */
export function isTableETag(etag: string): boolean {
  return /^W\/"datetime'[^'"\s]+'"$/.test(etag);
}

/** Column holding the JSON text (Dapr's name, so rows stay readable by both). */
export const VALUE_COLUMN = "Value";
/** Column holding the expiry (Edm.DateTime), added by vaultstate for TTL. */
export const EXPIRY_COLUMN = "TtlExpireTime";

/** The entity we write for a value. */
export type StateEntity = TableKeys & { [VALUE_COLUMN]?: string; [EXPIRY_COLUMN]?: Date };

/** An entity holding a value, with its expiry when it has one (pure). */
export function valueEntity(keys: TableKeys, value: string, expiresAt: number | undefined): StateEntity {
  const entity: StateEntity = { ...keys, [VALUE_COLUMN]: value };
  if (expiresAt !== undefined) entity[EXPIRY_COLUMN] = new Date(expiresAt);
  return entity;
}

/**
 * A tombstone: a row already expired at the epoch. Batches cannot delete conditionally (the SDK sends
 * `If-Match: *` for batch deletes), so a transactional delete replaces the row by a tombstone under
 * the right condition; readers see it as missing and it is removed right after the batch, or lazily.
 */
export function tombstoneEntity(keys: TableKeys): StateEntity {
  return { ...keys, [EXPIRY_COLUMN]: new Date(0) };
}

/** The expiry of a stored entity in ms (the SDK gives `Date`; raw text is accepted too), or `undefined`. */
export function entityExpiry(entity: Readonly<Record<string, unknown>>): number | undefined {
  const value = entity[EXPIRY_COLUMN];
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? undefined : value.getTime();
  return typeof value === "string" ? parseStoredExpiry(value) : undefined;
}
