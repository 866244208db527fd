/**
 * @module The secret cache in front of every secret store: TTL, LRU bound, single-flight misses,
 * stale-if-error with a bounded age, short negative caching, immutable version-pinned entries, and
 * jittered exponential backoff while the upstream throttles.
 *
 * Key Vault's guidance is to cache secrets for hours and back off on 429; the refresh timer and the
 * Event Grid trigger (not this module) make long TTLs safe by invalidating entries on change. An
 * invalidated value stays available as stale until a refetch succeeds (within the staleness bound),
 * so an event or a timer tick during an outage never drops it.
 *
 * A reader cannot bust the cache or make it work for long:
 * - the key is the name plus only the metadata keys the store says change the value
 *   (`requestMetadataKeys`); other `metadata.*` are ignored, as daprd's providers ignore them;
 * - names the store can never hold are refused before any work (`validateSecretName`);
 * - each caller has a budget of upstream misses per second;
 * - a read waits at most its deadline in total, backoff included: a `Retry-After` beyond the budget
 *   fails at once (or serves stale) instead of waiting.
 */
import { LRUCache } from "lru-cache";
import type { SecretStoreFeature } from "../components/features";
import {
  type BulkGetSecretRequest,
  SecretStoreUnavailableError,
  type BulkGetSecretResponse,
  type GetSecretRequest,
  type GetSecretResponse,
  type ImmediateSecretStore,
  isSecretNotFoundError,
  isNameListingSecretStore,
  isSecretStoreUnavailableError,
  type OperationOptions,
  type SecretStore,
  type SecretVersionInfo,
} from "../components/secretstores/secretStore";

/** Values a bulk read fetches at once through the cache (Key Vault allows thousands of GETs per 10 s). */
const BULK_VALUE_CONCURRENCY = 16;
import type { Logger } from "../observability/logger";
import { mapWithConcurrency } from "../shared/concurrency";
import { clearableTimeout } from "../shared/timeouts";

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
  /** The longest a read waits for the upstream in total, backoff and joined loads included. */
  readDeadlineInMs: number;
  /** Upstream misses one caller may cause per second (sustained); 0 turns the budget off. */
  missesPerSecondPerCaller: number;
  /** Misses one caller may cause in a burst. */
  missBurstPerCaller: number;
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
  readDeadlineInMs: 10_000,
  missesPerSecondPerCaller: 20,
  missBurstPerCaller: 100,
};

/** Counters shared by every cached store; numbers only. */
export interface SecretCacheCounters {
  hits: number;
  misses: number;
  upstreamCalls: number;
  staleServes: number;
  errors: number;
  /** Misses refused because the caller's budget was spent. */
  budgetRefusals: number;
}

/** Creates a zeroed counter set. */
export function createCounters(): SecretCacheCounters {
  return { hits: 0, misses: 0, upstreamCalls: 0, staleServes: 0, errors: 0, budgetRefusals: 0 };
}

/** A caller spent its budget of upstream misses; nothing cached could answer instead. */
export class SecretReadBudgetError extends Error {
  override readonly name = "SecretReadBudgetError";
  constructor(readonly retryAfterSeconds: number) {
    super(`too many reads of uncached secrets; retry after ${retryAfterSeconds} s`);
  }
}

/** Narrows an unknown error to a {@link SecretReadBudgetError}. */
export function isSecretReadBudgetError(e: unknown): e is SecretReadBudgetError {
  return e instanceof Error && e.name === "SecretReadBudgetError";
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

/** Resolves with `promise`, or rejects with the signal's reason once it aborts. */
function within<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason as Error);
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    promise.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener("abort", onAbort);
        reject(e);
      },
    );
  });
}

/** The metadata of a read that names none the store reads (nearly every read): one shared, frozen object. */
const NO_METADATA: Record<string, string> = Object.freeze({});

/** Only the metadata keys that change a value, in a fixed order. */
function relevantMetadata(metadata: Readonly<Record<string, string>>, keys: readonly string[]): Record<string, string> {
  let out: Record<string, string> | undefined;
  for (const k of keys) {
    const v = metadata[k];
    if (v !== undefined && v !== "") (out ??= {})[k] = v;
  }
  return out ?? NO_METADATA;
}

type Entry<T> = { kind: "value"; value: T; fetchedAt: number; expiresAt: number } | { kind: "notFound"; error: unknown; expiresAt: number };

/**
 * A single secret's answer as cached. The answer's own `{ [name]: value }` object would give every
 * cached name a hidden class of its own (V8 shapes an object by its property names: about 200 bytes
 * per distinct name, held while the entry lives).
 */
interface CachedSecret {
  /**
   * The value alone when the answer is one value under the name read (Key Vault's always is): each
   * reader gets it under its own spelling of the name, so the name need not be kept, nor an array.
   * Otherwise the keys and values of the answer, alternating.
   */
  data: string | string[];
  version?: SecretVersionInfo;
}

/** A cached single-secret entry, with the store's identity of its name (for invalidation and refresh). */
type SecretEntry = Entry<CachedSecret> & { name: string };

/**
 * A string that holds only its own characters. Strings cut from a longer one (a Key Vault version is
 * cut from the secret's id URL) keep the whole original alive; a cached entry keeps a copy instead.
 */
function own(text: string): string {
  return JSON.parse(JSON.stringify(text)) as string;
}

/** The cache's form of an answer to a read of the name whose identity is `nameKey` (on a miss only). */
function toCached(response: GetSecretResponse, nameKey: string, secretKey: (name: string) => string): CachedSecret {
  const entries = Object.entries(response.data);
  const only = entries.length === 1 ? entries[0] : undefined;
  let data: string | string[];
  if (only !== undefined && secretKey(only[0]) === nameKey) data = only[1];
  else {
    // Sized once: an array grown by push keeps spare capacity (17 slots for 2 strings), per entry.
    data = new Array<string>(entries.length * 2);
    for (let i = 0; i < entries.length; i++) {
      const [k, v] = entries[i] as [string, string];
      data[2 * i] = own(k);
      data[2 * i + 1] = v;
    }
  }
  return response.version === undefined ? { data } : { data, version: ownVersion(response.version) };
}

/**
 * A copy of version info for the cache, built from literals: an object made by spreading (`{ ...a }`)
 * gets a hidden class of its own in V8, about 200 bytes more per cached entry.
 */
function ownVersion({ version, updatedOn }: SecretVersionInfo): SecretVersionInfo {
  // Frozen: every read of the entry is answered with this object, not a copy.
  if (version === undefined) return Object.freeze(updatedOn === undefined ? {} : { updatedOn });
  return Object.freeze(updatedOn === undefined ? { version: own(version) } : { version: own(version), updatedOn });
}

/** How many recent immediate answers a cached store keeps for reuse (see `getSecretNow`). */
const RECENT_ANSWERS = 256;

/** A cached secret store, plus cache control for the refresh and event paths. */
export interface CachedSecretStore extends ImmediateSecretStore {
  /** The provider behind the cache (for abilities such as listing versions, or its vault URL). */
  readonly inner: SecretStore;
  /**
   * Marks cached entries of one secret (all versions of a name), or everything, as stale: the next
   * read refetches, and serves the old value only if that fails (within the staleness bound).
   */
  invalidate(name?: string): void;
  /** Names currently cached, as {@link CachedSecretStore.secretKey}s (for refresh: which secrets are in use). */
  cachedNames(): string[];
  /**
   * The store's identity of a name (its `secretNameKey`, else the name): refresh and events compare
   * names through it, so `DEMO-SECRET` and `demo-secret` in Key Vault are one secret everywhere.
   */
  secretKey(name: string): string;
  /** The version of the cached latest (versionless) value of a secret, if cached and known. */
  cachedVersion(name: string): SecretVersionInfo | undefined;
}

/**
 * A cache key. Without metadata (nearly every read) it is the name itself, the string the entry holds
 * anyway, so a cached name costs one string, not two; otherwise a JSON array of the name and the
 * metadata. A name that is empty or starts with "[" (the array form) or NUL (the bulk keys, which
 * share the single-flight map) always takes the array form, so no two reads ever share a key.
 */
function keyOf(name: string, metadata: Readonly<Record<string, string>>): string {
  const keys = Object.keys(metadata);
  const first = name.charCodeAt(0);
  if (keys.length === 0 && first !== 0x5b && first !== 0 && name.length > 0) return name;
  const parts = keys.sort().map((k) => `${k}=${metadata[k] ?? ""}`);
  return JSON.stringify([name, ...parts]);
}

const BULK_KEY = "\u0000bulk";

/**
 * The answer's data from a cached entry, a new object per reader; a name/value answer under the name
 * this reader asked for: an entry shared by `DEMO-SECRET` and `demo-secret` answers each with its own
 * spelling, as Key Vault would.
 */
function asRequested(data: string | readonly string[], requested: string, secretKey: (name: string) => string): Record<string, string> {
  // Defined as own properties (a literal, fromEntries), never assigned: a key "__proto__" stays a key.
  if (typeof data === "string") return { [requested]: data };
  if (data.length === 2) {
    const only = data[0] ?? "";
    return { [only === requested || secretKey(only) !== secretKey(requested) ? only : requested]: data[1] ?? "" };
  }
  const entries: Array<[string, string]> = [];
  for (let i = 0; i + 1 < data.length; i += 2) entries.push([data[i] ?? "", data[i + 1] ?? ""]);
  return Object.fromEntries(entries);
}

/** A token bucket per caller, for upstream misses. */
function createMissBudget(ratePerSecond: number, burst: number, now: () => number): (caller: string) => { allowed: true } | { allowed: false; retryAfterSeconds: number } {
  const buckets = new LRUCache<string, { tokens: number; updated: number }>({ max: 10_000 });
  return (caller) => {
    if (ratePerSecond <= 0) return { allowed: true };
    const t = now();
    const bucket = buckets.get(caller) ?? { tokens: burst, updated: t };
    bucket.tokens = Math.min(burst, bucket.tokens + (Math.max(0, t - bucket.updated) / 1000) * ratePerSecond);
    bucket.updated = t;
    buckets.set(caller, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / ratePerSecond)) };
  };
}

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
  const metadataKeys = { get: inner.requestMetadataKeys?.get ?? [], bulk: inner.requestMetadataKeys?.bulk ?? [] };
  // Names are folded here, at the provider boundary: every key, invalidation and lookup below uses it.
  const secretKey = (name: string): string => inner.secretNameKey?.(name) ?? name;
  // Every per-name record lives in the LRU's entries (the name included), so the bound holds for all of it.
  const entries = new LRUCache<string, SecretEntry>({ max: options.maxEntries });
  const bulkEntries = new LRUCache<string, Entry<BulkGetSecretResponse>>({ max: 100 });
  const inFlight = new Map<string, Promise<unknown>>();
  const takeMiss = createMissBudget(options.missesPerSecondPerCaller, options.missBurstPerCaller, () => env.now());
  let consecutiveThrottles = 0;
  let throttledUntil = 0;

  const backoffDelay = (retryAfterInMs: number | undefined): number => {
    const exponential = Math.min(options.backoffMaxInMs, options.backoffBaseInMs * 2 ** Math.max(0, consecutiveThrottles - 1));
    // Full jitter in [50%, 100%] keeps instances that were throttled together from retrying together.
    const jittered = exponential * (0.5 + env.random() / 2);
    return Math.max(jittered, retryAfterInMs ?? 0);
  };

  /**
   * Calls the upstream with backoff on throttling, within the deadline: a wait that would end after
   * it fails now instead. Every attempt is counted.
   */
  async function callUpstream<T>(call: (signal: AbortSignal) => Promise<T>, deadline: number, signal: AbortSignal): Promise<T> {
    let last: unknown;
    for (let attempt = 1; ; attempt++) {
      const wait = throttledUntil - env.now();
      if (wait > 0) {
        if (env.now() + wait > deadline) {
          throw last ?? new SecretStoreUnavailableError("throttled", `secret store ${storeName} is throttling requests; retry after ${Math.ceil(wait / 1000)} s`, { retryAfterInMs: wait });
        }
        await env.sleep(wait, signal);
      }
      counters.upstreamCalls++;
      try {
        const result = await call(signal);
        consecutiveThrottles = 0;
        return result;
      } catch (e) {
        if (!isSecretStoreUnavailableError(e) || e.failure !== "throttled") throw e;
        // Recorded even on the last attempt, so other readers back off (or serve stale) too.
        consecutiveThrottles++;
        throttledUntil = env.now() + backoffDelay(e.retryAfterInMs);
        last = e;
        if (attempt >= options.maxAttempts) throw e;
      }
    }
  }

  /**
   * Shared read path for single and bulk reads: fresh hit, else one upstream load per key (the
   * caller's budget pays for starting one); a transient failure, or the deadline, falls back to a
   * value younger than the staleness bound.
   */
  async function read<T>(
    key: string,
    label: string,
    pinned: boolean,
    get: () => Entry<T> | undefined,
    set: (entry: Entry<T>) => void,
    load: (signal: AbortSignal) => Promise<T>,
    opts: OperationOptions | undefined,
  ): Promise<T> {
    const now = env.now();
    const cached = get();
    if (cached !== undefined && cached.expiresAt > now) {
      counters.hits++;
      if (cached.kind === "notFound") throw cached.error;
      return cached.value;
    }
    const stale = cached?.kind === "value" && now - cached.fetchedAt <= options.maxStalenessInMs ? cached : undefined;
    const serveStale = (why: string): T | undefined => {
      if (stale === undefined) return undefined;
      counters.staleServes++;
      logger.warn(`secret store ${storeName}: serving cached ${label} (${why})`);
      return stale.value;
    };
    // While throttled, a usable stale value beats queueing behind the backoff.
    if (stale !== undefined && throttledUntil > now) {
      counters.staleServes++;
      return stale.value;
    }
    counters.misses++;
    let flight = inFlight.get(key) as Promise<T> | undefined;
    if (flight === undefined) {
      if (opts?.caller !== undefined) {
        const budget = takeMiss(opts.caller);
        if (!budget.allowed) {
          counters.budgetRefusals++;
          const value = serveStale("the caller's read budget is spent");
          if (value !== undefined) return value;
          throw new SecretReadBudgetError(budget.retryAfterSeconds);
        }
      }
      const deadline = now + options.readDeadlineInMs;
      // The load has its own deadline: it is shared, so one caller going away must not cancel it.
      const loadTimeout = clearableTimeout(options.readDeadlineInMs);
      flight = (async () => {
        try {
          const value = await callUpstream(load, deadline, loadTimeout.signal);
          const fetchedAt = env.now();
          set({ kind: "value", value, fetchedAt, expiresAt: pinned ? Number.POSITIVE_INFINITY : fetchedAt + options.ttlInMs });
          return value;
        } catch (e) {
          if (isSecretNotFoundError(e)) {
            set({ kind: "notFound", error: e, expiresAt: env.now() + options.negativeTtlInMs });
            throw e;
          }
          if (isSecretStoreUnavailableError(e)) {
            const value = serveStale(`upstream failure: ${e.failure}`);
            if (value !== undefined) return value;
          }
          counters.errors++;
          throw e;
        }
      })().finally(() => {
        inFlight.delete(key);
        loadTimeout.clear();
      });
      inFlight.set(key, flight);
    }
    // Each reader waits at most its own deadline (and not past its own cancellation).
    const readTimeout = clearableTimeout(options.readDeadlineInMs, opts?.abortSignal);
    const waitSignal = readTimeout.signal;
    try {
      return await within(flight, waitSignal);
    } catch (e) {
      if (!waitSignal.aborted || flight === undefined) throw e;
      const value = serveStale("the read deadline passed");
      if (value !== undefined) return value;
      counters.errors++;
      throw new SecretStoreUnavailableError("timeout", `secret store ${storeName} did not answer within ${options.readDeadlineInMs} ms`, { cause: e });
    } finally {
      readTimeout.clear();
    }
  }

  /** Marks entries stale: served only when a refetch fails, within the staleness bound. */
  const markStale = <E extends Entry<unknown>>(cache: LRUCache<string, E>, key: string): void => {
    const entry = cache.peek(key);
    if (entry === undefined) return;
    if (entry.kind === "notFound") cache.delete(key);
    // In place: a spread copy would get a V8 hidden class of its own per entry. Readers that hold the
    // entry only take its value.
    else entry.expiresAt = Number.NEGATIVE_INFINITY;
  };

  /** A single read's entry value if it is fresh, counted as a hit; else `undefined` (load, or give up). */
  const freshValue = (key: string): CachedSecret | undefined => {
    const hit = entries.get(key);
    if (hit === undefined || hit.kind !== "value" || hit.expiresAt <= env.now()) return undefined;
    counters.hits++;
    return hit.value;
  };

  /**
   * A cached secret as the answer to a read of `requested`: its data a fresh object, its version the
   * cache's own, which is frozen.
   */
  const answer = (cached: CachedSecret, requested: string): GetSecretResponse => {
    const data = asRequested(cached.data, requested, secretKey);
    return cached.version === undefined ? { data } : { data, version: cached.version };
  };

  /**
   * The answers most recently given at once, by the cached value they came from and the spelling read:
   * a secret read again and again (what apps do) gets the same frozen object each time, so the API can
   * keep its wire form too. Bounded by {@link RECENT_ANSWERS}, not by the cache: every other hit builds
   * its answer as `getSecret` does. A refetched value is a new object, so an answer never outlives it.
   */
  const recentAnswers = new Map<CachedSecret, { requested: string; answer: GetSecretResponse }>();
  const answerNow = (cached: CachedSecret, requested: string): GetSecretResponse => {
    const recent = recentAnswers.get(cached);
    if (recent !== undefined && recent.requested === requested) return recent.answer;
    const built = answer(cached, requested);
    const frozen = Object.freeze({ ...built, data: Object.freeze(built.data) });
    if (recent === undefined && recentAnswers.size >= RECENT_ANSWERS) recentAnswers.delete(recentAnswers.keys().next().value as CachedSecret);
    recentAnswers.set(cached, { requested, answer: frozen });
    return frozen;
  };

  return {
    init: (properties, opts) => inner.init(properties, opts),
    features(): readonly SecretStoreFeature[] {
      return inner.features();
    },
    requestMetadataKeys: metadataKeys,
    getSecretNow(request: GetSecretRequest): GetSecretResponse | undefined {
      try {
        inner.validateSecretName?.(request.name);
      } catch {
        // getSecret reports the refusal.
        return undefined;
      }
      const fresh = freshValue(keyOf(secretKey(request.name), relevantMetadata(request.metadata, metadataKeys.get)));
      return fresh === undefined ? undefined : answerNow(fresh, request.name);
    },
    getSecret(request: GetSecretRequest, opts?: OperationOptions): Promise<GetSecretResponse> {
      try {
        inner.validateSecretName?.(request.name);
      } catch (e) {
        return Promise.reject(e as Error);
      }
      const metadata = relevantMetadata(request.metadata, metadataKeys.get);
      const nameKey = secretKey(request.name);
      const key = keyOf(nameKey, metadata);
      // A fresh hit is answered here, without read()'s promise chain; the rest as read() does.
      const fresh = freshValue(key);
      if (fresh !== undefined) return Promise.resolve(answer(fresh, request.name));
      // A pinned version never changes, so it never expires (only the LRU bound evicts it).
      const pinned = metadata.version_id !== undefined;
      return read(
        key,
        `secret ${request.name}`,
        pinned,
        () => entries.get(key),
        // A literal, not `{ ...entry, name }`: a spread copy gets a V8 hidden class of its own per entry.
        (entry) =>
          entries.set(
            key,
            entry.kind === "value" ? { kind: "value", value: entry.value, fetchedAt: entry.fetchedAt, expiresAt: entry.expiresAt, name: nameKey } : { kind: "notFound", error: entry.error, expiresAt: entry.expiresAt, name: nameKey },
          ),
        (signal) => inner.getSecret({ name: request.name, metadata }, { ...opts, abortSignal: signal }).then((response) => toCached(response, nameKey, secretKey)),
        opts,
      ).then((cached) => answer(cached, request.name));
    },
    async bulkGetSecret(request: BulkGetSecretRequest, opts?: OperationOptions): Promise<BulkGetSecretResponse> {
      const metadata = relevantMetadata(request.metadata, metadataKeys.bulk);
      if (isNameListingSecretStore(inner)) {
        // One listing, then each value through this cache: concurrent (bounded), cached and
        // single-flight with single reads, so a bulk read costs one list page plus the slowest misses.
        // The listing is one upstream call and costs the caller one miss, as a bulk read always did;
        // the values it names are not charged again.
        if (opts?.caller !== undefined) {
          const budget = takeMiss(opts.caller);
          if (!budget.allowed) {
            counters.budgetRefusals++;
            throw new SecretReadBudgetError(budget.retryAfterSeconds);
          }
        }
        // One deadline for the whole bulk read: the listing and every value wait within it.
        const deadline = clearableTimeout(options.readDeadlineInMs, opts?.abortSignal);
        const abortSignal = deadline.signal;
        const valueOpts: OperationOptions = { ...opts, caller: undefined, abortSignal };
        let names: string[];
        let values: GetSecretResponse[];
        try {
          names = await inner.listSecretNames({ metadata }, { ...opts, abortSignal });
          values = await mapWithConcurrency(names, BULK_VALUE_CONCURRENCY, (name) => this.getSecret({ name, metadata: {} }, valueOpts));
        } finally {
          deadline.clear();
        }
        const data: Record<string, Record<string, string>> = {};
        names.forEach((name, i) => {
          data[name] = { [name]: values[i]?.data[name] ?? "" };
        });
        return { data };
      }
      const key = `${BULK_KEY}${keyOf("", metadata)}`;
      return read(
        key,
        "secret list",
        false,
        () => bulkEntries.get(key),
        (entry) => bulkEntries.set(key, entry),
        (signal) => inner.bulkGetSecret({ metadata }, { ...opts, abortSignal: signal }),
        opts,
      ).then((response) => ({ data: Object.fromEntries(Object.entries(response.data).map(([k, v]) => [k, { ...v }])) }));
    },
    close: () => inner.close(),
    invalidate(name) {
      for (const key of [...bulkEntries.keys()]) markStale(bulkEntries, key);
      const wanted = name === undefined ? undefined : secretKey(name);
      const keys: string[] = [];
      for (const [key, entry] of entries.entries()) if (wanted === undefined || entry.name === wanted) keys.push(key);
      for (const key of keys) markStale(entries, key);
    },
    cachedNames: () => [...new Set(Array.from(entries.values(), (entry) => entry.name))],
    secretKey,
    cachedVersion(name) {
      const entry = entries.peek(keyOf(secretKey(name), {}));
      // An invalidated value is kept only as a fallback: its version is no longer "what we have".
      return entry?.kind === "value" && entry.expiresAt !== Number.NEGATIVE_INFINITY ? entry.value.version : undefined;
    },
    inner,
  };
}
