/**
 * @module The etag / first-write policy every vaultstate state store follows, and the write
 * algorithm the Azure stores share on top of their conditional requests.
 *
 * Policy (Dapr leaves parts of it store-dependent, §4.8; we pick one and apply it everywhere):
 * - No etag and not first-write: unconditional write; delete of a missing key succeeds.
 * - An etag on `set`: the write succeeds when it equals the current etag, **or when the key is
 *   missing** (never written, deleted or expired), like Redis and Azure Tables. The @dapr/dapr e2e
 *   flow saves `etag: "1234"` with first-write on a fresh key and expects success.
 * - An etag on `delete` of a missing key is a mismatch: there is nothing the etag can match.
 * - first-write without an etag: succeeds only when the key is missing; otherwise a mismatch (409,
 *   where Dapr's blob store answers 500). first-write with an etag behaves like the etag alone.
 * - An etag that has a form the store never issues cannot match anything: mismatch, never
 *   "invalid", so `"bad-etag"` behaves the same on every store.
 * - Expired items count as missing everywhere.
 */
import { ETagError } from "./stateStore";

/** Treats `""` as "no etag", as Dapr's `HasETag` does. */
export function normalizeETag(etag: string | undefined): string | undefined {
  return etag === undefined || etag === "" ? undefined : etag;
}

/**
 * Whether an etag can be sent as an `If-Match` header: printable ASCII and not the `*` wildcard
 * (which would turn a conditional write into an unconditional one). Anything else would be rejected
 * by Node, or by Azure as a bad signature, so it is treated as "cannot match".
 */
export function isSendableETag(etag: string): boolean {
  return etag !== "*" && /^[\x20-\x7e]+$/.test(etag);
}

/** The mismatch error for an etag that does not match the stored item. */
export function etagMismatch(cause?: unknown): ETagError {
  return new ETagError("mismatch", { cause: cause ?? new Error("the etag does not match the stored item") });
}

/** The mismatch error for first-write on an existing key. */
export function alreadyExists(cause?: unknown): ETagError {
  return new ETagError("mismatch", { cause: cause ?? new Error("the key already exists and first-write was requested without an etag") });
}

/** What the stored item looks like, as far as concurrency is concerned. */
export interface StoredItemHead {
  etag: string;
  expired: boolean;
}

/** The conditional primitives a provider offers for one key; each resolves `false` on a failed condition. */
export interface ConditionalWriter {
  /** Writes unconditionally. */
  put(): Promise<void>;
  /** Writes if the stored item has exactly this etag (expired or not); `false` otherwise, including when missing. */
  putIfMatch(etag: string): Promise<boolean>;
  /** Creates the item if nothing is stored (an expired item counts as stored here); `false` otherwise. */
  putIfAbsent(): Promise<boolean>;
  /** The stored item's etag and expiry state, or `undefined` when nothing is stored. */
  head(): Promise<StoredItemHead | undefined>;
}

/** How a write is conditioned. */
export interface WriteConditions {
  etag?: string;
  firstWrite: boolean;
  /** Whether the store could ever have issued this etag (see {@link isSendableETag}). */
  canMatch: (etag: string) => boolean;
}

/** Bounded retries for the create-vs-replace-expired race; each lap means another writer won a step. */
const MAX_ATTEMPTS = 3;

/**
 * Writes one key under the module's policy using only atomic conditional primitives, so no
 * interleaving of concurrent writers can overwrite a newer item.
 * @throws {@link ETagError} `mismatch` when the etag does not match a live item or first-write meets one
 */
export async function writeWithConditions(writer: ConditionalWriter, conditions: WriteConditions): Promise<void> {
  const etag = normalizeETag(conditions.etag);
  if (etag === undefined && !conditions.firstWrite) return writer.put();
  if (etag !== undefined && conditions.canMatch(etag) && (await writer.putIfMatch(etag))) return;

  // Here the write may only land on a missing key: nothing stored, or an expired leftover.
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    if (await writer.putIfAbsent()) return;
    const head = await writer.head();
    if (head === undefined) continue; // deleted since: try creating again
    if (!head.expired) throw etag === undefined ? alreadyExists() : etagMismatch();
    if (await writer.putIfMatch(head.etag)) return; // replaced the expired leftover, atomically
  }
  throw etag === undefined ? alreadyExists() : etagMismatch();
}
