/**
 * @module The secret cache in front of every secret store: TTL, LRU bound, single-flight misses,
 * stale-if-error with a bounded age, short negative caching, immutable version-pinned entries, and
 * jittered exponential backoff while the upstream throttles.
 *
 * Key Vault's guidance is to cache secrets for hours and back off on 429; the refresh timer and the
 * Event Grid trigger (not this module) make long TTLs safe by invalidating entries on change.
 */
import { LRUCache } from "lru-cache";
import type { SecretStoreFeature } from "../components/features";
import {
  type BulkGetSecretRequest,
  type BulkGetSecretResponse,
  type GetSecretRequest,
  type GetSecretResponse,
  isSecretNotFoundError,
  isSecretStoreUnavailableError,
  type OperationOptions,
  type SecretStore,
  type SecretVersionInfo,
} from "../components/secretstores/secretStore";
import type { Logger } from "../observability/logger";

/** Cache tuning; every duration in milliseconds. */
export interface SecretCacheOptions {
  ttlInMs: number;
  maxEntries: number;
  /** How old (since it was fetched) a value may be when served because the upstream is failing. */
  maxStalenessInMs: number;
  negativeTtlInMs: number;
  /** First backoff step after a 429; doubled per consecutive 429, jittered, capped. */
  backoffBaseInMs: number;
  backoffMaxInMs: number;
  /** Attempts for a cold miss while the upstream throttles (the first included). */
  maxAttempts: number;
}

/** Defaults: Key Vault's "cache for at least eight hours", 24 h of stale tolerance, 1 s…16 s backoff. */
export const DEFAULT_SECRET_CACHE_OPTIONS: SecretCacheOptions = {
  ttlInMs: 8 * 60 * 60 * 1000,
  maxEntries: 10_000,
  maxStalenessInMs: 24 * 60 * 60 * 1000,
  negativeTtlInMs: 5_000,
  backoffBaseInMs: 1_000,
  backoffMaxInMs: 16_000,
  maxAttempts: 4,
};

/** Counters shared by every cached store; numbers only. */
export interface SecretCacheCounters {
  hits: number;
  misses: number;
  upstreamCalls: number;
  staleServes: number;
  errors: number;
}

/** Creates a zeroed counter set. */
export function createCounters(): SecretCacheCounters {
  return { hits: 0, misses: 0, upstreamCalls: 0, staleServes: 0, errors: 0 };
}

/** Time and randomness, injectable so tests control backoff without waiting. */
export interface CacheEnvironment {
  now(): number;
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  random(): number;
}

const realEnvironment: CacheEnvironment = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason);
        return;
      }
      const timer = setTimeout(resolve, ms);
      signal?.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    }),
  random: () => Math.random(),
};

type Entry<T> = { kind: "value"; value: T; fetchedAt: number; expiresAt: number } | { kind: "notFound"; error: unknown; expiresAt: number };

/** A cached secret store, plus cache control for the refresh and event paths. */
export interface CachedSecretStore extends SecretStore {
  /** The provider behind the cache (for abilities such as listing versions, or its vault URL). */
  readonly inner: SecretStore;
  /** Drops cached entries of one secret (all versions of a name), or everything. */
  invalidate(name?: string): void;
  /** Names currently cached (for refresh: which secrets are in use). */
  cachedNames(): string[];
  /** The version of the cached latest (versionless) value of a secret, if cached and known. */
  cachedVersion(name: string): SecretVersionInfo | undefined;
}

function keyOf(name: string, metadata: Readonly<Record<string, string>>): string {
  const parts = Object.keys(metadata)
    .sort()
    .map((k) => `${k}=${metadata[k] ?? ""}`);
  return JSON.stringify([name, ...parts]);
}

const BULK_KEY = "\u0000bulk";

/**
 * Wraps a secret store with the cache.
 * @param storeName - for log lines (names only, never values)
 */
export function createCachingSecretStore(
  inner: SecretStore,
  storeName: string,
  deps: { options?: Partial<SecretCacheOptions>; counters: SecretCacheCounters; logger: Logger; environment?: CacheEnvironment },
): CachedSecretStore {
  const options = { ...DEFAULT_SECRET_CACHE_OPTIONS, ...deps.options };
  const env = deps.environment ?? realEnvironment;
  const { counters, logger } = deps;
  const names = new Map<string, string>();
  const entries = new LRUCache<string, Entry<GetSecretResponse>>({
    max: options.maxEntries,
    dispose: (_value, key, reason) => {
      if (reason !== "set") names.delete(key);
    },
  });
  const bulkEntries = new LRUCache<string, Entry<BulkGetSecretResponse>>({ max: 100 });
  const inFlight = new Map<string, Promise<unknown>>();
  let consecutiveThrottles = 0;
  let throttledUntil = 0;

  const backoffDelay = (retryAfterInMs: number | undefined): number => {
    const exponential = Math.min(options.backoffMaxInMs, options.backoffBaseInMs * 2 ** Math.max(0, consecutiveThrottles - 1));
    // Full jitter in [50%, 100%] keeps instances that were throttled together from retrying together.
    const jittered = exponential * (0.5 + env.random() / 2);
    return Math.max(jittered, retryAfterInMs ?? 0);
  };

  /** Calls the upstream with backoff on throttling; every attempt is counted. */
  async function callUpstream<T>(call: () => Promise<T>, signal: AbortSignal | undefined): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      const wait = throttledUntil - env.now();
      if (wait > 0) await env.sleep(wait, signal);
      counters.upstreamCalls++;
      try {
        const result = await call();
        consecutiveThrottles = 0;
        return result;
      } catch (e) {
        if (!isSecretStoreUnavailableError(e) || e.failure !== "throttled") throw e;
        // Recorded even on the last attempt, so other readers back off (or serve stale) too.
        consecutiveThrottles++;
        throttledUntil = env.now() + backoffDelay(e.retryAfterInMs);
        if (attempt >= options.maxAttempts) throw e;
      }
    }
  }

  function singleFlight<T>(key: string, load: () => Promise<T>): Promise<T> {
    const existing = inFlight.get(key) as Promise<T> | undefined;
    if (existing !== undefined) return existing;
    const promise = load().finally(() => inFlight.delete(key));
    inFlight.set(key, promise);
    return promise;
  }

  /**
   * Shared read path for single and bulk reads: fresh hit, else one upstream load per key; a
   * transient failure falls back to a value younger than the staleness bound.
   */
  async function read<T>(
    key: string,
    label: string,
    pinned: boolean,
    get: () => Entry<T> | undefined,
    set: (entry: Entry<T>) => void,
    load: () => Promise<T>,
    signal: AbortSignal | undefined,
  ): Promise<T> {
    const now = env.now();
    const cached = get();
    if (cached !== undefined && cached.expiresAt > now) {
      counters.hits++;
      if (cached.kind === "notFound") throw cached.error;
      return cached.value;
    }
    const stale = cached?.kind === "value" && now - cached.fetchedAt <= options.maxStalenessInMs ? cached : undefined;
    // While throttled, a usable stale value beats queueing behind the backoff.
    if (stale !== undefined && throttledUntil > now) {
      counters.staleServes++;
      return stale.value;
    }
    counters.misses++;
    return singleFlight(key, async () => {
      try {
        const value = await callUpstream(load, signal);
        const fetchedAt = env.now();
        set({ kind: "value", value, fetchedAt, expiresAt: pinned ? Number.POSITIVE_INFINITY : fetchedAt + options.ttlInMs });
        return value;
      } catch (e) {
        if (isSecretNotFoundError(e)) {
          set({ kind: "notFound", error: e, expiresAt: env.now() + options.negativeTtlInMs });
          throw e;
        }
        if (isSecretStoreUnavailableError(e) && stale !== undefined) {
          counters.staleServes++;
          logger.warn(`secret store ${storeName}: serving cached ${label} after upstream failure (${e.failure})`);
          return stale.value;
        }
        counters.errors++;
        throw e;
      }
    });
  }

  return {
    init: (properties, opts) => inner.init(properties, opts),
    features(): readonly SecretStoreFeature[] {
      return inner.features();
    },
    getSecret(request: GetSecretRequest, opts?: OperationOptions): Promise<GetSecretResponse> {
      const key = keyOf(request.name, request.metadata);
      // A pinned version never changes, so it never expires (only the LRU bound evicts it).
      const pinned = request.metadata.version_id !== undefined && request.metadata.version_id !== "";
      return read(
        key,
        `secret ${request.name}`,
        pinned,
        () => entries.get(key),
        (entry) => {
          entries.set(key, entry);
          names.set(key, request.name);
        },
        () => inner.getSecret(request, opts),
        opts?.abortSignal,
      ).then((response) => ({ data: { ...response.data }, ...(response.version !== undefined ? { version: { ...response.version } } : {}) }));
    },
    bulkGetSecret(request: BulkGetSecretRequest, opts?: OperationOptions): Promise<BulkGetSecretResponse> {
      const key = `${BULK_KEY}${keyOf("", request.metadata)}`;
      return read(
        key,
        "secret list",
        false,
        () => bulkEntries.get(key),
        (entry) => bulkEntries.set(key, entry),
        () => inner.bulkGetSecret(request, opts),
        opts?.abortSignal,
      ).then((response) => ({ data: Object.fromEntries(Object.entries(response.data).map(([k, v]) => [k, { ...v }])) }));
    },
    close: () => inner.close(),
    invalidate(name) {
      bulkEntries.clear();
      if (name === undefined) {
        entries.clear();
        return;
      }
      for (const [key, cachedName] of [...names]) if (cachedName === name) entries.delete(key);
    },
    cachedNames: () => [...new Set(names.values())],
    cachedVersion(name) {
      const entry = entries.peek(keyOf(name, {}));
      return entry?.kind === "value" ? entry.value.version : undefined;
    },
    inner,
  };
}
