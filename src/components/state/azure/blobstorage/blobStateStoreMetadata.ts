/**
 * @module Pure parts of `state.azure.blobstorage`: component metadata (fields and aliases as Dapr's
 * v1/v2 `metadata.yaml`), key → blob name for v1 and v2, and per-request blob HTTP headers.
 */
import { escapeWith, unescapeKey } from "../../../../azure/tableKeyCodec";
import { AZURE_METADATA_ALIASES, type ComponentProperties, MetadataError, getProperty, parseBoolean, parseInteger } from "../../../metadata";
import { parseStorageTimeout } from "../deadline";

/** Dapr's alias lists; the Azure ones come from the one table in src/components/metadata.ts. */
export const BLOB_METADATA_KEYS = {
  accountName: AZURE_METADATA_ALIASES.storageAccountName,
  accountKey: AZURE_METADATA_ALIASES.storageAccountKey,
  containerName: ["containerName", "container", "storageAccountContainer"],
  connectionString: ["connectionString"],
  endpoint: ["endpoint", "storageEndpoint", "storageAccountEndpoint"],
  // `getBlobRetryCount` is Dapr's deprecated spelling and wins when set, as in Dapr.
  retryCount: ["getBlobRetryCount", "retryCount"],
  publicAccessLevel: ["publicAccessLevel"],
  disableEntityManagement: ["disableEntityManagement"],
  azureClientId: AZURE_METADATA_ALIASES.clientId,
  timeoutInSeconds: ["timeoutInSeconds"],
} as const satisfies Record<string, readonly string[]>;

/** Public access given to a container the store creates. */
export type PublicAccessLevel = "none" | "blob" | "container";

/** Typed metadata of the blob state store. */
export interface BlobStateStoreMetadata {
  /** Absent only when `connectionString` is given. */
  accountName?: string;
  accountKey?: string;
  connectionString?: string;
  containerName: string;
  endpoint?: string;
  retryCount: number;
  publicAccessLevel: PublicAccessLevel;
  disableEntityManagement: boolean;
  azureClientId?: string;
  /** Deadline of one storage operation, all retries included (`timeoutInSeconds`, default 10 s). */
  timeoutInMs: number;
}

/**
 * Parses and validates the blob store's component metadata (pure).
 * @throws {@link MetadataError} naming the field: missing `containerName`, missing `accountName`
 *   without `connectionString`, bad `retryCount`, `publicAccessLevel` or `disableEntityManagement`
 */
export function parseBlobStateStoreMetadata(properties: ComponentProperties): BlobStateStoreMetadata {
  const get = (names: readonly string[]): string | undefined => getProperty(properties, ...names);
  const connectionString = get(BLOB_METADATA_KEYS.connectionString);
  const accountName = get(BLOB_METADATA_KEYS.accountName);
  if (accountName === undefined && connectionString === undefined) {
    throw new MetadataError("accountName", 'missing required metadata field "accountName" (or "connectionString")');
  }
  const containerName = get(BLOB_METADATA_KEYS.containerName);
  if (containerName === undefined) throw new MetadataError("containerName", 'missing required metadata field "containerName"');
  const level = (get(BLOB_METADATA_KEYS.publicAccessLevel) ?? "none").toLowerCase();
  if (level !== "none" && level !== "blob" && level !== "container") {
    throw new MetadataError("publicAccessLevel", `metadata field "publicAccessLevel" must be none, blob or container, got "${level}"`);
  }
  return {
    ...optional("accountName", accountName),
    ...optional("accountKey", get(BLOB_METADATA_KEYS.accountKey)),
    ...optional("connectionString", connectionString),
    containerName,
    ...optional("endpoint", get(BLOB_METADATA_KEYS.endpoint)),
    retryCount: parseInteger("retryCount", get(BLOB_METADATA_KEYS.retryCount), 3, { min: 0, max: 100 }),
    publicAccessLevel: level,
    disableEntityManagement: parseBoolean("disableEntityManagement", get(BLOB_METADATA_KEYS.disableEntityManagement), false),
    ...optional("azureClientId", get(BLOB_METADATA_KEYS.azureClientId)),
    timeoutInMs: parseStorageTimeout(get(BLOB_METADATA_KEYS.timeoutInSeconds)),
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}

/** The blob key naming scheme of a component version. */
export type BlobKeyNaming = "v1" | "v2";

/**
 * v1 naming (Dapr `v1/v1.go: getFileName`): `app||key` → `key`; any other number of `||` parts →
 * the first part (`a||b||c` → `a`, `k` → `k`). Kept bug-compatible so existing v1 data stays readable.
 */
export function blobNameV1(key: string): string {
  const parts = key.split("||");
  return encodeBlobName(parts.length === 2 ? parts[1] : parts[0]);
}

/** v2 naming: the full prefixed key (`app||key`), so key prefixes isolate apps. */
export function blobNameV2(key: string): string {
  return encodeBlobName(key);
}

/** Whether a character sits in a path segment made only of one or two dots. */
function inDotSegment(text: string, i: number): boolean {
  if (text[i] !== ".") return false;
  let start = i;
  while (start > 0 && text[start - 1] === ".") start--;
  let end = i + 1;
  while (end < text.length && text[end] === ".") end++;
  const before = start === 0 || text[start - 1] === "/";
  const after = end === text.length || text[end] === "/";
  return before && after && end - start <= 2;
}

/**
 * The blob name of a key (pure, reversible by {@link decodeBlobName}). URL handling would turn `\`
 * into `/` and resolve `.`/`..` segments, so those become `%5C` and `%2E`, and a `%` that starts a
 * `%XX` sequence becomes `%25`; every other key, i.e. every key that worked before, is its own name,
 * so existing blobs keep their names.
 */
export function encodeBlobName(key: string): string {
  return escapeWith(key, (t, i) => t[i] === "\\" || inDotSegment(t, i));
}

/** The key part of a blob name (pure). */
export function decodeBlobName(name: string): string {
  return unescapeKey(name);
}

/** Azure's limit on blob name length. */
const MAX_BLOB_NAME_LENGTH = 1024;

/**
 * The blob name for a state key under a naming scheme.
 * @throws {@link RangeError} when the name would be empty (e.g. `app||` in v1) or longer than Azure
 *   allows. Dot segments cannot occur: {@link encodeBlobName} escapes them, so no key escapes its
 *   prefix or its container.
 */
export function blobNameFor(naming: BlobKeyNaming, key: string): string {
  const name = naming === "v1" ? blobNameV1(key) : blobNameV2(key);
  if (name === "") throw new RangeError("the state key maps to an empty blob name");
  if (name.length > MAX_BLOB_NAME_LENGTH) throw new RangeError(`the state key is longer than the ${MAX_BLOB_NAME_LENGTH} characters a blob name may have`);
  return name;
}

/** Blob HTTP headers taken from request metadata, named as `@azure/storage-blob` expects. */
export interface BlobHeaders {
  blobContentType?: string;
  blobContentMD5?: Uint8Array;
  blobContentEncoding?: string;
  blobContentLanguage?: string;
  blobContentDisposition?: string;
  blobCacheControl?: string;
}

/**
 * Maps per-request metadata (case-insensitive, as Dapr's `CreateBlobHTTPHeadersFromRequest`) to blob
 * HTTP headers. Other metadata is not stored with the blob (Dapr copies it into blob metadata; we keep
 * blob metadata for our own TTL marker).
 * @throws {@link RangeError} when `contentMD5` is not base64 of 16 bytes
 */
export function blobHeadersFromMetadata(metadata: Readonly<Record<string, string>>): BlobHeaders {
  const headers: BlobHeaders = {};
  const contentType = getProperty(metadata, "contentType");
  if (contentType !== undefined) headers.blobContentType = contentType;
  const md5 = getProperty(metadata, "contentMD5");
  if (md5 !== undefined) {
    const bytes = Buffer.from(md5, "base64");
    if (bytes.length !== 16 || bytes.toString("base64") !== md5) throw new RangeError("metadata contentMD5 must be the base64 encoding of 16 bytes");
    headers.blobContentMD5 = new Uint8Array(bytes);
  }
  const contentEncoding = getProperty(metadata, "contentEncoding");
  if (contentEncoding !== undefined) headers.blobContentEncoding = contentEncoding;
  const contentLanguage = getProperty(metadata, "contentLanguage");
  if (contentLanguage !== undefined) headers.blobContentLanguage = contentLanguage;
  const contentDisposition = getProperty(metadata, "contentDisposition");
  if (contentDisposition !== undefined) headers.blobContentDisposition = contentDisposition;
  const cacheControl = getProperty(metadata, "cacheControl");
  if (cacheControl !== undefined) headers.blobCacheControl = cacheControl;
  return headers;
}

/** Blob metadata name of our TTL marker (blob metadata names are case-insensitive C# identifiers). */
export const EXPIRY_METADATA_NAME = "ttlexpiretime";

/** Reads the TTL marker from blob metadata, whatever case the service returned it in. */
export function expiryTextFromBlobMetadata(metadata: Readonly<Record<string, string>> | undefined): string | undefined {
  if (metadata === undefined) return undefined;
  return getProperty(metadata, EXPIRY_METADATA_NAME);
}

/**
 * Whether an etag has the form Azure Blob Storage (and Azurite) issues: a quoted hex number, `"0x8DC…"`.
 * Only decides what an etag on a missing blob means (see `../../concurrency.ts`); any sendable etag is
 * still tried against a live blob, so an unexpected form can never block an update.
 */
export function isBlobETag(etag: string): boolean {
  return /^"0x[0-9A-F]+"$/i.test(etag);
}
