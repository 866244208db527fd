/**
 * @module Pure parts of `state.azure.tablestorage`: component metadata (fields and aliases as Dapr's
 * `metadata.yaml`), key → PartitionKey/RowKey, the entity shape, and etag form.
 */
import { AZURE_METADATA_ALIASES, type ComponentProperties, MetadataError, getProperty, parseBoolean } from "../../../metadata";
import { decodeTableKey, encodeTableKey, MAX_TABLE_KEY_BYTES, tableKeyBytes } from "../../../../azure/tableKeyCodec";
import { ValueTooLargeError } from "../../stateStore";
import { parseStoredExpiry } from "../../ttl";
import { parseStorageTimeout } from "../deadline";

/** Dapr's alias lists; the Azure ones come from the one table in src/components/metadata.ts. */
export const TABLE_METADATA_KEYS = {
  accountName: AZURE_METADATA_ALIASES.storageAccountName,
  accountKey: AZURE_METADATA_ALIASES.storageAccountKey,
  tableName: ["tableName", "table", "storageAccountTable"],
  connectionString: ["connectionString"],
  serviceURL: ["serviceURL"],
  cosmosDbMode: ["cosmosDbMode"],
  skipCreateTable: ["skipCreateTable"],
  azureClientId: AZURE_METADATA_ALIASES.clientId,
  timeoutInSeconds: ["timeoutInSeconds"],
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
  /** Deadline of one storage operation, all retries included (`timeoutInSeconds`, default 10 s). */
  timeoutInMs: number;
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
    timeoutInMs: parseStorageTimeout(get(TABLE_METADATA_KEYS.timeoutInSeconds)),
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
 * `||` → (key, `""`), as Dapr. Both parts go through {@link encodeTableKey}, so keys with `/ \ # ?` or
 * control characters are stored under a reversible encoding, and every other key verbatim.
 * @throws {@link RangeError} when an encoded part is longer than Azure allows
 */
export function tableKeysFor(key: string, cosmosDbMode = false): TableKeys {
  const at = key.indexOf("||");
  const partitionKey = encodeTableKey(at < 0 ? key : key.slice(0, at));
  let rowKey = encodeTableKey(at < 0 ? "" : key.slice(at + 2));
  if (rowKey === "" && cosmosDbMode) rowKey = COSMOS_EMPTY_ROW_KEY;
  // Azure caps each key at 1 KiB of UTF-16; longer keys would be a 400 from the service, reported
  // without a useful message.
  if (tableKeyBytes(partitionKey) > MAX_TABLE_KEY_BYTES || tableKeyBytes(rowKey) > MAX_TABLE_KEY_BYTES) {
    throw new RangeError(`the state key is longer than Azure Table Storage allows (${MAX_TABLE_KEY_BYTES} bytes of UTF-16 per PartitionKey or RowKey, after encoding / \\ # ?)`);
  }
  return { partitionKey, rowKey };
}

/** The state key a stored row belongs to: the inverse of {@link tableKeysFor} (pure). */
export function stateKeyOf(keys: TableKeys, cosmosDbMode = false): string {
  const partition = decodeTableKey(keys.partitionKey);
  const row = cosmosDbMode && keys.rowKey === COSMOS_EMPTY_ROW_KEY ? "" : keys.rowKey;
  return row === "" ? partition : `${partition}||${decodeTableKey(row)}`;
}

/** Whether Azure Tables accept the text as a key without encoding (no `/ \ # ?` or control character). */
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
/** Column holding the number of parts of a value too large for one property. */
export const VALUE_PARTS_COLUMN = "ValueParts";
/** The column of part `i` of a large value. */
export function valuePartColumn(i: number): string {
  return `ValuePart${i}`;
}

/**
 * The longest value kept in the single `Value` string column, in UTF-16 code units: Azure allows
 * 64 KiB per string property and counts UTF-16. Such rows keep Dapr's layout.
 */
export const MAX_VALUE_COLUMN_CHARS = 32 * 1024;
/** Azure's limit per binary property. */
export const MAX_BINARY_PART_BYTES = 64 * 1024;
/**
 * The largest value the store accepts, in UTF-8 bytes: Azure's 1 MiB entity limit minus room for
 * the keys (up to 2 KiB), the timestamp, the expiry and the part columns.
 */
export const MAX_TABLE_VALUE_BYTES = 1_040_000;

/**
 * How a value over {@link MAX_VALUE_COLUMN_CHARS} is split. `binary`: its UTF-8 bytes in 64 KiB
 * `Edm.Binary` parts, which Azure counts byte for byte, so values up to the entity limit fit.
 * `text`: 32 Ki-character string parts, for services that count the request's JSON text instead
 * (Azurite, where base64 would inflate binary parts by a third); the store falls back to it when the
 * service refuses the binary form as too large.
 */
export type ValueLayout = "binary" | "text";

/** The entity we write for a value. */
export type StateEntity = TableKeys & { [column: string]: string | number | Date | Uint8Array };

/**
 * Splits text into parts of at most `max` UTF-16 code units, never between the halves of a
 * surrogate pair (pure).
 */
function splitText(text: string, max: number): string[] {
  const parts: string[] = [];
  for (let start = 0; start < text.length; ) {
    let end = Math.min(start + max, text.length);
    const last = text.charCodeAt(end - 1);
    if (end < text.length && last >= 0xd800 && last <= 0xdbff) end--;
    parts.push(text.slice(start, end));
    start = end;
  }
  return parts;
}

/**
 * An entity holding a value, with its expiry when it has one (pure). A value up to
 * {@link MAX_VALUE_COLUMN_CHARS} is the `Value` column, as Dapr writes it; a larger one is split into
 * `ValuePart<i>` columns (see {@link ValueLayout}) with their count in `ValueParts`.
 * @throws {@link ValueTooLargeError} above {@link MAX_TABLE_VALUE_BYTES}
 */
export function valueEntity(keys: TableKeys, value: string, expiresAt: number | undefined, layout: ValueLayout = "binary"): StateEntity {
  const entity: StateEntity = { ...keys };
  if (value.length <= MAX_VALUE_COLUMN_CHARS) {
    entity[VALUE_COLUMN] = value;
  } else {
    const bytes = Buffer.from(value, "utf8");
    if (bytes.length > MAX_TABLE_VALUE_BYTES) throw tooLarge(bytes.length);
    const parts: (string | Uint8Array)[] = [];
    if (layout === "text") parts.push(...splitText(value, MAX_VALUE_COLUMN_CHARS));
    else for (let at = 0; at < bytes.length; at += MAX_BINARY_PART_BYTES) parts.push(new Uint8Array(bytes.subarray(at, at + MAX_BINARY_PART_BYTES)));
    parts.forEach((part, i) => (entity[valuePartColumn(i)] = part));
    entity[VALUE_PARTS_COLUMN] = parts.length;
  }
  if (expiresAt !== undefined) entity[EXPIRY_COLUMN] = new Date(expiresAt);
  return entity;
}

/** Whether a value is stored in parts, where the layout matters. */
export function isPartedValue(value: string): boolean {
  return value.length > MAX_VALUE_COLUMN_CHARS;
}

/** The refusal of a value over {@link MAX_TABLE_VALUE_BYTES}. */
export function tooLarge(bytes: number | undefined): ValueTooLargeError {
  const size = bytes === undefined ? "too large" : `${bytes} bytes`;
  return new ValueTooLargeError(
    `the value is ${size}; Azure Table Storage stores at most ${MAX_TABLE_VALUE_BYTES} bytes per value (its entity limit is 1 MiB)`,
  );
}

/**
 * The value of a stored entity: the `Value` column, or its parts joined (pure).
 * @returns `undefined` when the row holds no readable value (a tombstone, or a foreign row)
 */
export function entityValue(entity: Readonly<Record<string, unknown>>): string | undefined {
  const value = entity[VALUE_COLUMN];
  if (typeof value === "string") return value;
  const count = entity[VALUE_PARTS_COLUMN];
  if (typeof count !== "number" || !Number.isInteger(count) || count < 1) return undefined;
  const parts = Array.from({ length: count }, (_, i) => entity[valuePartColumn(i)]);
  if (parts.every((p): p is string => typeof p === "string")) return parts.join("");
  if (parts.every((p): p is Uint8Array => p instanceof Uint8Array)) return Buffer.concat(parts).toString("utf8");
  return undefined;
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
