/**
 * @module The etag / first-write policy every vaultstate state store follows, and the write
 * algorithm the Azure stores share on top of their conditional requests.
 *
 * Policy (Dapr leaves parts of it store-dependent, §4.8; we pick one and apply it everywhere):
 * - No etag and not first-write: unconditional write; delete of a missing key succeeds.
 * - An etag on `set` or `delete` of a live item: the write succeeds only when it equals the item's
 *   current etag, checked atomically by the store, so of a concurrent delete and save that read the
 *   same version exactly one succeeds.
 * - An etag on `set` of a missing key (never written, deleted or expired) depends on its form:
 *   - one the store issues (a UUID in memory, `"0x…"` on Blob, `W/"datetime'…'"` on Table) names a
 *     version that is gone: a mismatch (409), so a save that raced a delete can never undo it;
 *   - one the store never issues (`"1234"`, `"bad-etag"`) cannot come from a read of this key, so the
 *     write only creates the key, like first-write (as Redis does; the @dapr/dapr e2e flow saves
 *     `etag: "1234"` with first-write on a fresh key and expects success).
 * - An etag on `delete` of a missing key is a mismatch: there is nothing the etag can match.
 * - first-write without an etag: succeeds only when the key is missing; otherwise a mismatch (409,
 *   where Dapr's blob store answers 500). first-write with an etag behaves like the etag alone.
 * - An etag that has a form the store never issues cannot match a live item: mismatch, never
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
  /** Whether the etag can be sent to the store as a condition (see {@link isSendableETag}). */
  canMatch: (etag: string) => boolean;
  /** Whether the etag has the form this store issues, i.e. may name a version that is now gone. */
  isIssued: (etag: string) => boolean;
}

/** Bounded retries for the create-vs-replace-expired race; each lap means another writer won a step. */
const MAX_ATTEMPTS = 3;

/** The mismatch for an etag of the store's own form on a missing key: its version was deleted or expired. */
export function etagOfMissingItem(): ETagError {
  return etagMismatch(new Error("the item the etag names no longer exists"));
}

/**
 * Writes one key under the module's policy using only atomic conditional primitives, so no
 * interleaving of concurrent writers can overwrite a newer item or undo a delete.
 * @throws {@link ETagError} `mismatch` when the etag does not match a live item, names a version that
 *   no longer exists, or first-write meets a live item
 */
export async function writeWithConditions(writer: ConditionalWriter, conditions: WriteConditions): Promise<void> {
  const etag = normalizeETag(conditions.etag);
  if (etag === undefined && !conditions.firstWrite) return writer.put();
  if (etag !== undefined) {
    // Look first: the expiry lives in the item, so only a read can tell an expired item (missing,
    // for the policy) from a live one; a stale etag also fails here without sending the body.
    const head = await writer.head();
    if (head !== undefined && !head.expired) {
      if (head.etag !== etag || !conditions.canMatch(etag)) throw etagMismatch();
      // Atomic: a delete or write since the look makes this fail instead of resurrecting the key.
      if (await writer.putIfMatch(etag)) return;
      throw etagMismatch();
    }
    if (conditions.isIssued(etag)) throw etagOfMissingItem();
  }

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
