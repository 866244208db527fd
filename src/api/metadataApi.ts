/**
 * @module `PUT /v1.0/metadata/{key}`: app metadata a caller attaches to itself, shown in that
 * caller's `GET /v1.0/metadata` under `extended` (daprd's `SetMetadata`).
 *
 * daprd keeps these values in the sidecar's memory, one sidecar per app. Here one app serves many
 * callers on many instances, so values are kept per caller app-id in an {@link AppMetadataStore}:
 * the app's own Table storage in production (every instance sees the same values), process memory
 * only when the app has no storage. Unlike daprd, keys, values and their number are bounded, and
 * built-in `extended` names cannot be overwritten; each refusal is a 400 `ERR_MALFORMED_REQUEST`.
 */
import { type AppMetadataStore, MetadataLimitError } from "../azure/appMetadataTable";
import type { Caller } from "./auth";
import { apiError, type ApiResponse } from "./errors";
import { empty } from "./responses";

/** The longest metadata key, in characters. */
export const MAX_METADATA_KEY_LENGTH = 128;
/** The largest metadata value, in UTF-8 bytes. */
export const MAX_METADATA_VALUE_BYTES = 4096;
/** The most metadata entries one caller may hold (the table store keeps their names in one index property: 64 × 128 characters fit). */
export const MAX_METADATA_ENTRIES = 64;

/**
 * A store in this process's memory: for development and apps without storage. Values are per
 * instance and lost on restart.
 */
export function createInMemoryAppMetadataStore(): AppMetadataStore {
  const byApp = new Map<string, Map<string, string>>();
  return {
    async list(appId) {
      return Object.fromEntries(byApp.get(appId) ?? []);
    },
    async set(appId, key, value, maxEntries) {
      let entries = byApp.get(appId);
      if (entries === undefined) {
        entries = new Map();
        byApp.set(appId, entries);
      }
      if (!entries.has(key) && entries.size >= maxEntries) throw new MetadataLimitError(`at most ${maxEntries} metadata entries per app`);
      entries.set(key, value);
    },
  };
}

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Handles `PUT /v1.0/metadata/{key}`: the raw body is the value (daprd reads it as text).
 * @param reserved - names the API itself reports in `extended`
 * @throws {@link ApiError} 400 `ERR_MALFORMED_REQUEST` for a bad key, an oversized value, a reserved
 *   name or too many entries
 */
export async function putMetadata(store: AppMetadataStore, caller: Caller, key: string, body: Uint8Array, reserved: ReadonlySet<string>): Promise<ApiResponse> {
  if (key.length > MAX_METADATA_KEY_LENGTH) throw apiError("metadataKeyTooLong", { max: MAX_METADATA_KEY_LENGTH });
  if (CONTROL.test(key)) throw apiError("metadataKeyControlCharacter", {});
  if (reserved.has(key)) throw apiError("metadataKeyReserved", { key });
  if (body.length > MAX_METADATA_VALUE_BYTES) throw apiError("metadataValueTooLarge", { max: MAX_METADATA_VALUE_BYTES });
  const value = new TextDecoder("utf-8", { fatal: false }).decode(body);
  try {
    await store.set(caller.appId, key, value, MAX_METADATA_ENTRIES);
  } catch (e) {
    if (e instanceof MetadataLimitError) throw apiError("metadataTooManyKeys", { key, max: MAX_METADATA_ENTRIES });
    throw e;
  }
  return empty();
}
