/**
 * @module `state.azure.blobstorage` v1 and v2: one blob per key in a container.
 *
 * Etags are the blob's own (`If-Match`); first-write uses `If-None-Match: *`. Beyond Dapr (whose blob
 * store has no TTL), `ttlInSeconds` is honoured: the expiry is stored in blob metadata, expired blobs
 * read as missing and are removed lazily, conditionally on the etag that was read, so a newer write
 * is never deleted. Features: ETAG, TTL.
 *
 * ```yaml
 * spec:
 *   type: state.azure.blobstorage
 *   version: v2            # v1: blob name = key without the app prefix (Dapr's legacy naming)
 *   metadata:
 *   - { name: accountName, value: mystorage }
 *   - { name: containerName, value: state }
 *   - { name: accountKey, secretKeyRef: { name: storage-key, key: storage-key } }  # omit for managed identity
 * ```
 */
import type { BlobItem, BlobServiceClient, BlockBlobClient, ContainerClient, ContainerListBlobFlatSegmentResponse } from "@azure/storage-blob";
import type { AzureClients } from "../../../../azure/clients";
import { DEFAULT_STORAGE_TIMEOUT_IN_MS, storageDeadline } from "../../../../azure/storage";
import type { StateFeature } from "../../../features";
import type { ComponentProperties } from "../../../metadata";
import { withStorageDeadlines } from "../deadline";
import { hasErrorCode } from "../../../../azure/errors";
import { type ConditionalWriter, etagMismatch, isSendableETag, normalizeETag, writeWithConditions } from "../../concurrency";
import type { DeleteStateRequest, GetStateRequest, GetStateResponse, OperationOptions, QueryableStateStore, ScanPage, SetStateRequest, StateStore } from "../../stateStore";
import { type Clock, expiryFromMetadata, formatExpiryForStorage, isExpired, parseStoredExpiry, systemClock, ttlResponseMetadata } from "../../ttl";
import {
  type BlobKeyNaming,
  type BlobStateStoreMetadata,
  EXPIRY_METADATA_NAME,
  blobHeadersFromMetadata,
  blobNameFor,
  decodeBlobName,
  encodeBlobName,
  expiryTextFromBlobMetadata,
  isBlobETag,
  parseBlobStateStoreMetadata,
} from "./blobStateStoreMetadata";
import { mapWithConcurrency } from "../../../../shared/concurrency";

/** Dependencies of the blob state store. */
export interface BlobStateStoreDeps {
  /** `v1` or `v2` key naming (the component's `spec.version`). */
  naming: BlobKeyNaming;
  /** Time source for TTLs. */
  clock?: Clock;
  /** The app's Azure client factories (the service client is built from parsed metadata in `init`). */
  azure: Pick<AzureClients, "blobService">;
}

/** v1 names drop the key prefix, so callers share one namespace and cannot be scoped: no query there. */
const FEATURES: Record<BlobKeyNaming, readonly StateFeature[]> = { v1: ["ETAG", "TTL"], v2: ["ETAG", "TTL", "QUERY_API"] };

/** Blob names listed per service call while scanning. */
const SCAN_PAGE_BLOBS = 200;
/** Blobs downloaded at once while scanning. */
const SCAN_DOWNLOADS = 16;

/** Where a blob scan stands: the listing page (by its continuation marker) and how many of its names were taken. */
interface BlobCursor {
  m?: string;
  s: number;
}

function parseBlobCursor(cursor: string | undefined): BlobCursor {
  if (cursor === undefined) return { s: 0 };
  let parsed: unknown;
  try {
    parsed = JSON.parse(cursor);
  } catch {
    parsed = undefined;
  }
  const c = parsed as Partial<BlobCursor> | undefined;
  if (typeof c !== "object" || c === null || typeof c.s !== "number" || !Number.isInteger(c.s) || c.s < 0 || (c.m !== undefined && typeof c.m !== "string")) {
    throw new RangeError("invalid scan cursor");
  }
  return c.m === undefined ? { s: c.s } : { m: c.m, s: c.s };
}

/** The blob does not exist (a missing container is not this). */
export function isBlobNotFound(e: unknown): boolean {
  return hasErrorCode(e, "BlobNotFound", 404);
}

/** An `If-Match` / `If-None-Match` condition failed (412). */
export function isConditionNotMet(e: unknown): boolean {
  return hasErrorCode(e, "ConditionNotMet", 412);
}

/** `If-None-Match: *` met an existing blob (409). */
export function isBlobAlreadyExists(e: unknown): boolean {
  return hasErrorCode(e, "BlobAlreadyExists", 409);
}

/**
 * Creates a blob state store; `init` parses metadata, builds the client once and creates the
 * container unless `disableEntityManagement` is true.
 * @example
 * ```ts
 * const store = createBlobStateStore({ azure: createAzureClients(settings.environment), naming: "v2" });
 * await store.init({ accountName: "acct", containerName: "state" }); // managed identity
 * ```
 */
export function createBlobStateStore(deps: BlobStateStoreDeps): StateStore & QueryableStateStore {
  const clock = deps.clock ?? systemClock;
  const createServiceClient = (m: BlobStateStoreMetadata): BlobServiceClient => deps.azure.blobService(toAccountOptions(m));
  let container: ContainerClient | undefined;
  let timeoutInMs = DEFAULT_STORAGE_TIMEOUT_IN_MS;
  const cleanups = new Set<Promise<void>>();

  const blobFor = (key: string): BlockBlobClient => {
    if (container === undefined) throw new Error("the blob state store is not initialised");
    return container.getBlockBlobClient(blobNameFor(deps.naming, key));
  };

  /** Best-effort removal of an expired blob, only if it still has the etag we saw. */
  const removeExpired = (blob: BlockBlobClient, etag: string): void => {
    const cleanup = blob
      .deleteIfExists({ conditions: { ifMatch: etag }, abortSignal: storageDeadline(undefined, timeoutInMs) })
      .then(
        () => undefined,
        () => undefined, // someone rewrote or removed it meanwhile: nothing to clean
      )
      .finally(() => cleanups.delete(cleanup));
    cleanups.add(cleanup);
  };

  // Every operation runs under its deadline (the request's, or `timeoutInSeconds`), with caller-safe errors.
  return withStorageDeadlines<StateStore & QueryableStateStore>({
    async init(properties: ComponentProperties, options?: OperationOptions) {
      const metadata = parseBlobStateStoreMetadata(properties);
      timeoutInMs = metadata.timeoutInMs;
      container = createServiceClient(metadata).getContainerClient(metadata.containerName);
      if (!metadata.disableEntityManagement) {
        await container.createIfNotExists({
          abortSignal: options?.abortSignal,
          ...(metadata.publicAccessLevel === "none" ? {} : { access: metadata.publicAccessLevel }),
        });
      }
    },

    features(): readonly StateFeature[] {
      return FEATURES[deps.naming];
    },

    async get(request: GetStateRequest, options?: OperationOptions): Promise<GetStateResponse | undefined> {
      const blob = blobFor(request.key);
      let response;
      try {
        response = await blob.download(0, undefined, { abortSignal: options?.abortSignal });
      } catch (e) {
        if (isBlobNotFound(e)) return undefined;
        throw e;
      }
      const data = await readBody(response.readableStreamBody);
      const etag = response.etag ?? "";
      const expiresAt = parseStoredExpiry(expiryTextFromBlobMetadata(response.metadata));
      if (isExpired(expiresAt, clock())) {
        removeExpired(blob, etag);
        return undefined;
      }
      const metadata = ttlResponseMetadata(expiresAt);
      return metadata === undefined ? { data, etag } : { data, etag, metadata };
    },

    async set(request: SetStateRequest, options?: OperationOptions) {
      const blob = blobFor(request.key);
      const now = clock();
      const expiresAt = expiryFromMetadata(request.metadata, now);
      const blobHTTPHeaders = blobHeadersFromMetadata(request.metadata);
      const body = Buffer.from(request.value, "utf8");
      // Upload replaces metadata too, so a write without TTL clears an earlier expiry.
      const metadata: Record<string, string> = expiresAt === undefined ? {} : { [EXPIRY_METADATA_NAME]: formatExpiryForStorage(expiresAt) };
      const abortSignal = options?.abortSignal;
      const upload = (conditions: { ifMatch?: string; ifNoneMatch?: string }) =>
        blob.upload(body, body.length, { blobHTTPHeaders, metadata, conditions, abortSignal });

      const writer: ConditionalWriter = {
        async put() {
          await upload({});
        },
        async putIfMatch(etag) {
          try {
            await upload({ ifMatch: etag });
            return true;
          } catch (e) {
            // Azure answers 412 for a stale etag and for a missing blob alike.
            if (isConditionNotMet(e) || isBlobNotFound(e)) return false;
            throw e;
          }
        },
        async putIfAbsent() {
          try {
            await upload({ ifNoneMatch: "*" });
            return true;
          } catch (e) {
            if (isBlobAlreadyExists(e) || isConditionNotMet(e)) return false;
            throw e;
          }
        },
        async head() {
          try {
            const props = await blob.getProperties({ abortSignal });
            return { etag: props.etag ?? "", expired: isExpired(parseStoredExpiry(expiryTextFromBlobMetadata(props.metadata)), clock()) };
          } catch (e) {
            if (isBlobNotFound(e)) return undefined;
            throw e;
          }
        },
      };
      await writeWithConditions(writer, {
        etag: request.etag,
        firstWrite: request.options.concurrency === "first-write",
        canMatch: isSendableETag,
        isIssued: isBlobETag,
      });
    },

    async delete(request: DeleteStateRequest, options?: OperationOptions) {
      const blob = blobFor(request.key);
      const abortSignal = options?.abortSignal;
      const etag = normalizeETag(request.etag);
      if (etag === undefined) {
        // Deleting a missing blob without an etag is a no-op (Dapr).
        await blob.deleteIfExists({ abortSignal });
        return;
      }
      if (!isSendableETag(etag)) throw etagMismatch();
      // An expired blob counts as missing, so its old etag must not delete it: look first. The
      // delete itself stays conditional, so a write in between still wins.
      let props;
      try {
        props = await blob.getProperties({ abortSignal });
      } catch (e) {
        if (isBlobNotFound(e)) throw etagMismatch(e);
        throw e;
      }
      if (props.etag !== etag || isExpired(parseStoredExpiry(expiryTextFromBlobMetadata(props.metadata)), clock())) throw etagMismatch();
      try {
        await blob.delete({ conditions: { ifMatch: etag }, abortSignal });
      } catch (e) {
        if (isConditionNotMet(e) || isBlobNotFound(e)) throw etagMismatch(e);
        throw e;
      }
    },

    /**
     * Lists blob names under the prefix (one service call per page of names, in name order), skips
     * expired ones by their metadata, then downloads the live ones (bounded).
     */
    async scan(request, options): Promise<ScanPage> {
      if (container === undefined) throw new Error("the blob state store is not initialised");
      if (deps.naming === "v1") throw new RangeError("v1 blob names have no key prefix to scope a scan");
      const abortSignal = options?.abortSignal;
      const start = parseBlobCursor(request.after);
      const page: ScanPage = { items: [], done: true };
      const now = clock();
      let marker = start.m;
      let skip = start.s;
      for (;;) {
        const listing = container
          .listBlobsFlat({ prefix: encodeBlobName(request.prefix), includeMetadata: true, abortSignal })
          .byPage({ maxPageSize: SCAN_PAGE_BLOBS, ...(marker === undefined ? {} : { continuationToken: marker }) });
        const result = await listing.next();
        const value: ContainerListBlobFlatSegmentResponse | undefined = result.done === true ? undefined : result.value;
        const names = (value?.segment.blobItems ?? []).map((b: BlobItem) => ({ name: b.name, expired: isExpired(parseStoredExpiry(expiryTextFromBlobMetadata(b.metadata)), now) }));
        const next: string | undefined = value?.continuationToken === "" ? undefined : value?.continuationToken;
        const wanted = names.slice(skip).map((n, i) => ({ ...n, index: skip + i })).filter((n) => !n.expired);
        const room = request.limit - page.items.length;
        const taken = wanted.slice(0, room);
        const downloaded = await mapWithConcurrency(taken, SCAN_DOWNLOADS, async (n) => {
          try {
            const response = await container?.getBlockBlobClient(n.name).download(0, undefined, { abortSignal });
            return { ...n, data: await readBody(response?.readableStreamBody), etag: response?.etag ?? "" };
          } catch (e) {
            if (isBlobNotFound(e)) return undefined; // deleted since the listing
            throw e;
          }
        });
        for (const d of downloaded) {
          if (d === undefined) continue;
          page.items.push({ key: decodeBlobName(d.name), data: d.data, etag: d.etag, cursor: JSON.stringify({ ...(marker === undefined ? {} : { m: marker }), s: d.index + 1 }) });
        }
        if (wanted.length > taken.length) {
          page.done = false;
          return page;
        }
        if (next === undefined) return page;
        marker = next;
        skip = 0;
        if (page.items.length >= request.limit) {
          page.done = false;
          return page;
        }
      }
    },

    async close() {
      await Promise.allSettled([...cleanups]);
      container = undefined;
    },
  }, () => timeoutInMs);
}

/** Maps parsed metadata to the client factory's options. */
function toAccountOptions(m: BlobStateStoreMetadata) {
  return {
    accountName: m.accountName,
    accountKey: m.accountKey,
    connectionString: m.connectionString,
    endpoint: m.endpoint,
    clientId: m.azureClientId,
    retryCount: m.retryCount,
  };
}

async function readBody(stream: NodeJS.ReadableStream | undefined): Promise<string> {
  if (stream === undefined) return "";
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === "string" ? Buffer.from(chunk, "utf8") : chunk);
  return Buffer.concat(chunks).toString("utf8");
}

