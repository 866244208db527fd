/**
 * @module Rate limiting, per instance: a token bucket per caller app-id, and one per client address for
 * failed sign-ins (the address the platform vouches for; see ApiRequest.clientAddress).
 */

/** Rate limit settings; a rate of 0 turns limiting off. */
export interface RateLimitOptions {
  ratePerSecond: number;
  burst: number;
  now?: () => number;
  /** Buckets kept at most (least recently used dropped), bounding memory under many app-ids. */
  maxBuckets?: number;
}

/** The outcome of one request against the bucket. */
export type RateLimitDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/** A rate limiter keyed by caller. */
export interface RateLimiter {
  take(key: string): RateLimitDecision;
}

/** The answer when limiting is off: one shared object. */
const ALLOWED: RateLimitDecision = Object.freeze({ allowed: true });

/** Creates a token-bucket limiter (pure apart from its clock). */
export function createRateLimiter(options: RateLimitOptions): RateLimiter {
  const now = options.now ?? Date.now;
  const buckets = new Map<string, { tokens: number; updated: number }>();
  const maxBuckets = options.maxBuckets ?? 10_000;
  return {
    take(key) {
      if (options.ratePerSecond <= 0) return ALLOWED;
      const t = now();
      let bucket = buckets.get(key);
      if (bucket === undefined) {
        bucket = { tokens: options.burst, updated: t };
        if (buckets.size >= maxBuckets) buckets.delete(buckets.keys().next().value ?? "");
      } else {
        buckets.delete(key);
        bucket.tokens = Math.min(options.burst, bucket.tokens + ((t - bucket.updated) / 1000) * options.ratePerSecond);
        bucket.updated = t;
      }
      buckets.set(key, bucket);
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1;
        return { allowed: true };
      }
      return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / options.ratePerSecond)) };
    },
  };
}
