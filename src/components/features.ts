/**
 * @module Feature flags a component advertises (Dapr's `Features()`), reported in `/v1.0/metadata`.
 */

/** State store features, spelled as Dapr reports them in metadata `capabilities`. */
export type StateFeature = "ETAG" | "TRANSACTIONAL" | "TTL" | "QUERY_API" | "DELETE_WITH_PREFIX" | "PARTITION_KEY" | "KEYS_LIKE";

/** Secret store features. */
export type SecretStoreFeature = "MULTIPLE_KEY_VALUES_PER_SECRET";
