/**
 * @module keyvault-emulator/paging: `maxresults` and `$skiptoken` paging for the list operations.
 *
 * Markers (the last key returned) rather than offsets, so pages stay correct when secrets are added or
 * deleted between page requests, as with the service's `NextMarker` tokens.
 */
import { kvErrors } from "./errors";
import { isRecord } from "./model";

/** The service returns up to 25 results when `maxresults` is absent. */
export const DEFAULT_MAX_RESULTS = 25;
/** `maxresults` must be an integer from 1 to 25. */
export const MAX_MAX_RESULTS = 25;

/**
 * Parses `maxresults`.
 * @param raw - the query value, or null when absent
 * @throws KeyVaultError 400 for anything but an integer from 1 to 25
 */
export function parseMaxResults(raw: string | null): number {
  if (raw === null) return DEFAULT_MAX_RESULTS;
  if (!/^\d{1,9}$/.test(raw)) throw kvErrors.badParameter(`Invalid value '${raw}' for maxresults: it must be an integer from 1 to ${MAX_MAX_RESULTS}.`);
  const n = Number(raw);
  if (n < 1 || n > MAX_MAX_RESULTS) throw kvErrors.badParameter(`Invalid value '${raw}' for maxresults: it must be an integer from 1 to ${MAX_MAX_RESULTS}.`);
  return n;
}

/**
 * Encodes a marker for one listing (`scope` keeps a token from one listing from being replayed on another).
 * @param scope - identifies the listing, e.g. "secrets" or "versions:db-password"
 * @param marker - the key of the last item returned
 */
export function encodeSkipToken(scope: string, marker: string): string {
  return Buffer.from(JSON.stringify({ s: scope, m: marker }), "utf8").toString("base64url");
}

/**
 * Decodes a `$skiptoken`.
 * @param scope - the listing the token must belong to
 * @param token - the query value
 * @throws KeyVaultError 400 for a token that is malformed or from another listing
 */
export function decodeSkipToken(scope: string, token: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
  } catch {
    throw kvErrors.badParameter("The $skiptoken is invalid.");
  }
  if (!isRecord(parsed) || parsed.s !== scope || typeof parsed.m !== "string") {
    throw kvErrors.badParameter("The $skiptoken is invalid.");
  }
  return parsed.m;
}

/** One page and the marker for the next one. */
export interface Page<T> {
  items: T[];
  nextMarker?: string;
}

/**
 * Cuts one page out of `items`.
 * @param items - the whole listing, in listing order
 * @param keyOf - the marker key of an item
 * @param marker - the marker from the previous page, if any
 * @param pageSize - `maxresults`
 * @param orderedByKey - true when `items` are sorted by key, so a marker whose item has gone since still
 *   positions the page; false (versions, in creation order) makes an unknown marker a 400
 * @throws KeyVaultError 400 for an unknown marker on a listing not ordered by key
 */
export function paginate<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  marker: string | undefined,
  pageSize: number,
  orderedByKey: boolean,
): Page<T> {
  let start = 0;
  if (marker !== undefined) {
    const idx = items.findIndex((it) => keyOf(it) === marker);
    if (idx >= 0) start = idx + 1;
    else if (orderedByKey) {
      start = items.findIndex((it) => keyOf(it) > marker);
      if (start < 0) start = items.length;
    } else throw kvErrors.badParameter("The $skiptoken is invalid.");
  }
  const page = items.slice(start, start + pageSize);
  const last = page[page.length - 1];
  const hasMore = start + pageSize < items.length;
  return hasMore && last !== undefined ? { items: page, nextMarker: keyOf(last) } : { items: page };
}
