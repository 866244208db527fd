/**
 * @module TTL rules shared by every state store: parsing `ttlInSeconds`, computing and formatting
 * the expiry, and the injectable clock the stores compare it against.
 *
 * Mirrors components-contrib `state/utils/ttl.go: ParseTTL` and the in-memory store's expiry
 * reporting (`ttlExpireTime`, RFC 3339 UTC, whole seconds).
 */

/** Request metadata key carrying the TTL (case-sensitive, as Dapr reads it). */
export const TTL_IN_SECONDS = "ttlInSeconds";

/** Response metadata key carrying the expiry of a TTL'd item. */
export const TTL_EXPIRE_TIME = "ttlExpireTime";

/** The largest TTL Dapr accepts (Go `math.MaxInt32`). */
export const MAX_TTL_IN_SECONDS = 2 ** 31 - 1;

/** Milliseconds since the epoch; stores take one so tests can move time. */
export type Clock = () => number;

/** The real clock. */
export const systemClock: Clock = () => Date.now();

/** Thrown for a `ttlInSeconds` that is not an integer in [-1, 2^31-1]; the API reports it as a 500 save error. */
export class TtlError extends RangeError {
  override readonly name = "TtlError";
}

/**
 * Reads `ttlInSeconds` from request metadata.
 * @returns the TTL in seconds, or `undefined` when absent, empty, `0` or `-1` (all mean "no expiry",
 *   and a write without an expiry clears an existing one)
 * @throws {@link TtlError} for anything but a decimal integer in [-1, 2^31-1]
 */
export function parseTtlInSeconds(metadata: Readonly<Record<string, string>>): number | undefined {
  const text = Object.prototype.hasOwnProperty.call(metadata, TTL_IN_SECONDS) ? metadata[TTL_IN_SECONDS] : undefined;
  // Dapr's ParseTTL treats an empty value as absent.
  if (text === undefined || text === "") return undefined;
  // Go's strconv.ParseInt accepts an optional sign and digits only: no spaces, decimals or exponents.
  const n = /^[+-]?\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < -1 || n > MAX_TTL_IN_SECONDS) {
    throw new TtlError(`incorrect value for metadata '${TTL_IN_SECONDS}': must be an integer between -1 and ${MAX_TTL_IN_SECONDS}`);
  }
  // Dapr's in-memory store sets an expiry only for a positive TTL, so 0 means "no expiry" like -1.
  return n <= 0 ? undefined : n;
}

/**
 * The expiry (ms since the epoch) of a write made at `nowInMs`, or `undefined` for no expiry.
 * @throws {@link TtlError} as {@link parseTtlInSeconds}
 */
export function expiryFromMetadata(metadata: Readonly<Record<string, string>>, nowInMs: number): number | undefined {
  const ttl = parseTtlInSeconds(metadata);
  return ttl === undefined ? undefined : nowInMs + ttl * 1000;
}

/** Whether an item with this expiry reads as missing at `nowInMs` (expiry is exclusive, as Dapr's `!now.Before(expire)`). */
export function isExpired(expiresAtInMs: number | undefined, nowInMs: number): boolean {
  return expiresAtInMs !== undefined && nowInMs >= expiresAtInMs;
}

/**
 * Formats an expiry as Dapr reports it: RFC 3339 UTC without fractional seconds
 * (Go `time.RFC3339`), e.g. `2024-05-01T12:00:00Z`.
 */
export function formatTtlExpireTime(expiresAtInMs: number): string {
  return new Date(expiresAtInMs).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Response metadata for an item: `{ ttlExpireTime }` when it has an expiry, otherwise `undefined`. */
export function ttlResponseMetadata(expiresAtInMs: number | undefined): Record<string, string> | undefined {
  return expiresAtInMs === undefined ? undefined : { [TTL_EXPIRE_TIME]: formatTtlExpireTime(expiresAtInMs) };
}

/**
 * Parses an expiry stored by a provider (ISO 8601 / RFC 3339 text).
 * @returns ms since the epoch, or `undefined` when absent or unparseable (treated as no expiry, so
 *   a corrupted marker never hides data)
 */
export function parseStoredExpiry(text: string | undefined): number | undefined {
  if (text === undefined || text === "") return undefined;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Formats an expiry for storage: full ISO 8601 UTC with milliseconds, so no precision is lost. */
export function formatExpiryForStorage(expiresAtInMs: number): string {
  return new Date(expiresAtInMs).toISOString();
}
