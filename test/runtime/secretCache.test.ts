import { describe, expect, it } from "vitest";
import {
  type GetSecretRequest,
  InvalidSecretNameError,
  isInvalidSecretNameError,
  isSecretNotFoundError,
  SecretNotFoundError,
  type SecretStore,
  SecretStoreUnavailableError,
} from "../../src/components/secretstores/secretStore";
import type { Logger } from "../../src/observability/logger";
import { type CacheEnvironment, createCachingSecretStore, createCounters, isSecretReadBudgetError, type SecretCacheOptions } from "../../src/runtime/secretCache";

/** An in-memory upstream whose behaviour each test scripts; counts calls. */
function fakeUpstream() {
  const values = new Map<string, string>([["a", "1"]]);
  const state = { calls: 0, bulkCalls: 0, failWith: undefined as Error | undefined, failTimes: Infinity, gate: undefined as Promise<void> | undefined, seenMetadata: [] as Record<string, string>[] };
  const maybeFail = (): void => {
    if (state.failWith !== undefined && state.failTimes > 0) {
      state.failTimes--;
      throw state.failWith;
    }
  };
  const store: SecretStore = {
    init: async () => {},
    features: () => [],
    requestMetadataKeys: { get: ["version_id"], bulk: ["maxresults"] },
    validateSecretName: (name) => {
      if (!/^[a-z0-9-]{1,127}$/i.test(name)) throw new InvalidSecretNameError("not a valid name");
    },
    async getSecret(req: GetSecretRequest) {
      state.calls++;
      state.seenMetadata.push({ ...req.metadata });
      if (state.gate !== undefined) await state.gate;
      maybeFail();
      const version = req.metadata.version_id;
      const value = values.get(req.name);
      if (value === undefined) throw new SecretNotFoundError(req.name);
      return { data: { [req.name]: version === undefined ? value : `${value}@${version}` } };
    },
    async bulkGetSecret() {
      state.bulkCalls++;
      maybeFail();
      return { data: Object.fromEntries([...values].map(([k, v]) => [k, { [k]: v }])) };
    },
    close: async () => {},
  };
  return { store, values, state };
}

function fakeClock(): CacheEnvironment & { advance(ms: number): void; sleeps: number[] } {
  let now = 1_000_000;
  const sleeps: number[] = [];
  return {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
    random: () => 0.5,
    advance: (ms) => {
      now += ms;
    },
    sleeps,
  };
}

const lines: string[] = [];
const logger: Logger = { info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m) };

function setup(options: Partial<SecretCacheOptions> = {}) {
  const upstream = fakeUpstream();
  const clock = fakeClock();
  const counters = createCounters();
  const cache = createCachingSecretStore(upstream.store, "kv", { options: { ttlInMs: 10_000, maxStalenessInMs: 60_000, negativeTtlInMs: 1_000, ...options }, counters, logger, environment: clock });
  const get = (name: string, metadata: Record<string, string> = {}, caller?: string) => cache.getSecret({ name, metadata }, caller === undefined ? undefined : { caller });
  return { ...upstream, clock, counters, cache, get };
}

describe("secret cache", () => {
  it("serves hits from memory until the TTL, then reloads", async () => {
    const { get, state, clock, counters, values } = setup();
    expect((await get("a")).data).toEqual({ a: "1" });
    expect((await get("a")).data).toEqual({ a: "1" });
    expect(state.calls).toBe(1);
    values.set("a", "2");
    clock.advance(10_001);
    expect((await get("a")).data).toEqual({ a: "2" });
    expect(counters).toEqual({ hits: 1, misses: 2, upstreamCalls: 2, staleServes: 0, errors: 0, budgetRefusals: 0 });
  });

  it("answers at once only with a fresh entry: never loads, never serves stale, counts a hit like a read", async () => {
    const { get, cache, state, clock, counters, values } = setup();
    const now = (name: string, metadata: Record<string, string> = {}) => cache.getSecretNow({ name, metadata });
    expect(now("a")).toBeUndefined();
    expect(state.calls).toBe(0);
    expect(counters.hits + counters.misses).toBe(0);

    await get("a");
    expect(now("a")).toEqual({ data: { a: "1" } });
    // Another spelling of the same name gets its own spelling back, as from getSecret.
    expect(now("A")).toBeUndefined(); // this fake store's names are case-sensitive: a different entry
    expect(counters).toMatchObject({ hits: 1, misses: 1, upstreamCalls: 1 });
    // Metadata the store reads is part of the key; metadata it does not read is ignored.
    expect(now("a", { version_id: "v1" })).toBeUndefined();
    expect(now("a", { ignored: "x" })).toEqual({ data: { a: "1" } });
    await get("a", { version_id: "v1" });
    expect(now("a", { version_id: "v1" })).toEqual({ data: { a: "1@v1" } });

    // Invalidated or expired entries are only a fallback for a failing load: not an immediate answer.
    cache.invalidate("a");
    expect(now("a")).toBeUndefined();
    values.set("a", "2");
    expect((await get("a")).data).toEqual({ a: "2" });
    expect(now("a")).toEqual({ data: { a: "2" } });
    clock.advance(10_001);
    expect(now("a")).toBeUndefined();
    // A name the store refuses is not answered here either; getSecret reports the refusal.
    expect(now("not valid!")).toBeUndefined();
    await expect(get("not valid!")).rejects.toSatisfy(isInvalidSecretNameError);
    expect(state.calls).toBe(3);
  });

  it("answers repeated immediate reads with one frozen object, never past a refetch, for at most 256 values", async () => {
    const { get, cache, values, clock } = setup();
    const now = (name: string) => cache.getSecretNow({ name, metadata: {} });
    await get("a");
    const first = now("a");
    expect(first).toEqual({ data: { a: "1" } });
    expect(now("a")).toBe(first);
    expect(Object.isFrozen(first) && Object.isFrozen(first?.data)).toBe(true);
    // getSecret keeps giving each reader its own objects.
    expect((await get("a")).data).not.toBe(first?.data);
    // A refetched value is a new cached object: its answer is new, the old one is never given again.
    values.set("a", "2");
    clock.advance(10_001);
    await get("a");
    const second = now("a");
    expect(second).toEqual({ data: { a: "2" } });
    expect(second).not.toBe(first);
    expect(now("a")).toBe(second);
    // Past 256 other values the oldest shared answer is dropped, and the next read builds a new one.
    for (let i = 0; i < 256; i++) values.set(`n${i}`, String(i));
    for (let i = 0; i < 256; i++) await get(`n${i}`);
    for (let i = 0; i < 256; i++) expect(now(`n${i}`)).toEqual({ data: { [`n${i}`]: String(i) } });
    const third = now("a");
    expect(third).toEqual(second);
    expect(third).not.toBe(second);
  });

  it("single-flight: 1,000 concurrent cold misses make one upstream call", async () => {
    const { get, state } = setup();
    let open: () => void = () => {};
    state.gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const all = Promise.all(Array.from({ length: 1000 }, () => get("a")));
    open();
    const results = await all;
    expect(state.calls).toBe(1);
    expect(results.every((r) => r.data.a === "1")).toBe(true);
  });

  it("stale-if-error: an expired value is served while the upstream fails, up to the staleness bound", async () => {
    const { get, state, clock, counters } = setup();
    await get("a");
    clock.advance(20_000);
    state.failWith = new SecretStoreUnavailableError("unavailable", "Key Vault answered 503");
    expect((await get("a")).data).toEqual({ a: "1" });
    expect(counters.staleServes).toBe(1);
    expect(lines.some((l) => l === "secret store kv: serving cached secret a (upstream failure: unavailable)")).toBe(true);
    clock.advance(60_000);
    await expect(get("a")).rejects.toThrow("Key Vault answered 503");
    expect(counters.errors).toBe(1);
  });

  it("does not serve stale values for errors that are not transient", async () => {
    const { get, state, clock } = setup();
    await get("a");
    clock.advance(20_000);
    state.failWith = new Error("access denied");
    await expect(get("a")).rejects.toThrow("access denied");
  });

  it("recovers by itself when the fault ends", async () => {
    const { get, state, values } = setup();
    state.failWith = new SecretStoreUnavailableError("unavailable", "reset");
    state.failTimes = 1;
    await expect(get("a")).rejects.toThrow("reset");
    values.set("a", "fresh");
    expect((await get("a")).data).toEqual({ a: "fresh" });
  });

  it("caches not-found briefly", async () => {
    const { get, state, clock, values } = setup();
    await expect(get("nope")).rejects.toSatisfy(isSecretNotFoundError);
    await expect(get("nope")).rejects.toSatisfy(isSecretNotFoundError);
    expect(state.calls).toBe(1);
    values.set("nope", "now");
    clock.advance(1_001);
    expect((await get("nope")).data).toEqual({ nope: "now" });
  });

  it("version-pinned reads never expire and are keyed by version", async () => {
    const { get, state, clock } = setup();
    expect((await get("a", { version_id: "v1" })).data).toEqual({ a: "1@v1" });
    clock.advance(10 * 24 * 60 * 60 * 1000);
    state.failWith = new Error("must not be called");
    expect((await get("a", { version_id: "v1" })).data).toEqual({ a: "1@v1" });
    expect(state.calls).toBe(1);
  });

  it("backs off with jittered exponential delays on 429 without Retry-After, then succeeds", async () => {
    const { get, state, clock, counters } = setup({ backoffBaseInMs: 1000, backoffMaxInMs: 16_000, maxAttempts: 4 });
    state.failWith = new SecretStoreUnavailableError("throttled", "Key Vault answered 429");
    state.failTimes = 3;
    expect((await get("a")).data).toEqual({ a: "1" });
    // random() = 0.5 → 75% of 1 s, 2 s, 4 s.
    expect(clock.sleeps).toEqual([750, 1500, 3000]);
    expect(counters.upstreamCalls).toBe(4);
  });

  it("honours Retry-After when it is longer than the backoff, and gives up after maxAttempts", async () => {
    const { get, state, clock } = setup({ maxAttempts: 2 });
    state.failWith = new SecretStoreUnavailableError("throttled", "Key Vault answered 429", { retryAfterInMs: 5_000 });
    await expect(get("a")).rejects.toThrow("429");
    expect(clock.sleeps).toEqual([5_000]);
    expect(state.calls).toBe(2);
  });

  it("while throttled, expired values are served stale without waiting", async () => {
    const { get, state, clock, counters } = setup({ maxAttempts: 1 });
    await get("a");
    await expect(get("b")).rejects.toSatisfy(isSecretNotFoundError);
    state.failWith = new SecretStoreUnavailableError("throttled", "429");
    clock.advance(10_001);
    await expect(get("c")).rejects.toThrow("429");
    const callsBefore = state.calls;
    expect((await get("a")).data).toEqual({ a: "1" });
    expect(state.calls).toBe(callsBefore);
    expect(counters.staleServes).toBe(1);
  });

  it("invalidate makes every version of a name (or everything) refetch; cachedNames lists names in use", async () => {
    const { get, cache, state, values } = setup();
    await get("a");
    await get("a", { version_id: "v1" });
    expect(cache.cachedNames()).toEqual(["a"]);
    values.set("a", "2");
    cache.invalidate("a");
    expect(cache.cachedNames()).toEqual(["a"]);
    expect(cache.cachedVersion("a")).toBeUndefined();
    expect((await get("a")).data).toEqual({ a: "2" });
    expect((await get("a", { version_id: "v1" })).data).toEqual({ a: "2@v1" });
    expect(state.calls).toBe(4);
    cache.invalidate();
    await get("a");
    expect(state.calls).toBe(5);
  });

  it("an invalidation during an outage keeps the old value available as stale until a refetch succeeds", async () => {
    const { get, cache, state, values, counters } = setup();
    await get("a");
    state.failWith = new SecretStoreUnavailableError("unavailable", "Key Vault answered 503");
    cache.invalidate("a");
    for (let i = 0; i < 6; i++) expect((await get("a")).data).toEqual({ a: "1" });
    expect(counters.staleServes).toBe(6);
    state.failWith = undefined;
    values.set("a", "2");
    expect((await get("a")).data).toEqual({ a: "2" });
    expect((await get("a")).data).toEqual({ a: "2" });
  });

  it("keys entries on the store's known metadata only: 10,000 distinct unknown metadata.* values cost no extra read", async () => {
    const { get, state } = setup();
    await get("a");
    for (let i = 0; i < 10_000; i++) expect((await get("a", { [`k${i}`]: String(i), version_stage: `s${i}` })).data).toEqual({ a: "1" });
    expect(state.calls).toBe(1);
    await get("a", { version_id: "v2", junk: "x" });
    expect(state.calls).toBe(2);
    // Unknown keys are not passed on either.
    expect(state.seenMetadata).toEqual([{}, { version_id: "v2" }]);
  });

  it("refuses a name the store can never hold before any upstream call", async () => {
    const { get, state, counters } = setup();
    await expect(get("not/valid")).rejects.toSatisfy(isInvalidSecretNameError);
    await expect(get("x".repeat(128))).rejects.toSatisfy(isInvalidSecretNameError);
    expect(state.calls).toBe(0);
    expect(counters.misses).toBe(0);
  });

  it("gives each caller a budget of upstream misses; hits, joined loads and other callers are not charged", async () => {
    const { get, state, clock, counters, values } = setup({ missesPerSecondPerCaller: 1, missBurstPerCaller: 2 });
    for (const n of ["b", "c", "d", "e", "f"]) values.set(n, n);
    await get("a", {}, "greedy");
    await get("b", {}, "greedy");
    const refused = await get("c", {}, "greedy").then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(isSecretReadBudgetError(refused)).toBe(true);
    expect(refused).toMatchObject({ retryAfterSeconds: 1 });
    expect(state.calls).toBe(2);
    for (let i = 0; i < 100; i++) await get("a", {}, "greedy");
    expect((await get("c", {}, "polite")).data).toEqual({ c: "c" });
    expect(counters.budgetRefusals).toBe(1);
    clock.advance(1_000);
    expect((await get("d", {}, "greedy")).data).toEqual({ d: "d" });
    // A stale value answers instead of a refusal.
    clock.advance(20_000);
    await get("e", {}, "greedy");
    await get("f", {}, "greedy");
    const calls = state.calls;
    expect((await get("a", {}, "greedy")).data).toEqual({ a: "1" });
    expect(state.calls).toBe(calls);
    expect(counters.budgetRefusals).toBe(2);
    expect(counters.staleServes).toBe(1);
  });

  it("a cold read under 429 with a Retry-After beyond the read deadline fails at once, without waiting", async () => {
    const { get, state, clock, counters } = setup({ readDeadlineInMs: 10_000, maxAttempts: 4 });
    state.failWith = new SecretStoreUnavailableError("throttled", "Key Vault is throttling requests (429)", { retryAfterInMs: 20_000 });
    await expect(get("a")).rejects.toThrow("throttling");
    expect(clock.sleeps).toEqual([]);
    expect(state.calls).toBe(1);
    // Other readers meanwhile fail at once too, without calling the upstream.
    await expect(get("b")).rejects.toThrow("throttling");
    expect(state.calls).toBe(1);
    expect(counters.upstreamCalls).toBe(1);
  });

  it("a Retry-After within the deadline is waited for; the next one that would overrun it fails", async () => {
    const { get, state, clock } = setup({ readDeadlineInMs: 10_000, maxAttempts: 4 });
    state.failWith = new SecretStoreUnavailableError("throttled", "Key Vault is throttling requests (429)", { retryAfterInMs: 6_000 });
    await expect(get("a")).rejects.toThrow("throttling");
    expect(clock.sleeps).toEqual([6_000]);
    expect(state.calls).toBe(2);
  });

  it("a read waits at most its deadline for a stalled upstream, then serves stale or fails as unavailable", async () => {
    const { get, state, cache, counters } = setup({ readDeadlineInMs: 50 });
    await get("a");
    state.gate = new Promise<void>(() => undefined);
    cache.invalidate("a");
    expect((await get("a")).data).toEqual({ a: "1" });
    expect(counters.staleServes).toBe(1);
    await expect(get("b")).rejects.toMatchObject({ name: "SecretStoreUnavailableError", failure: "timeout" });
  });

  it("the caller's own abort ends its wait too", async () => {
    const { cache, state } = setup();
    state.gate = new Promise<void>(() => undefined);
    const controller = new AbortController();
    const pending = cache.getSecret({ name: "a", metadata: {} }, { abortSignal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toMatchObject({ failure: "timeout" });
  });

  it("caches bulk reads per metadata and returns copies", async () => {
    const { cache, state } = setup();
    const first = await cache.bulkGetSecret({ metadata: {} });
    (first.data.a as Record<string, string>).a = "mutated";
    expect((await cache.bulkGetSecret({ metadata: {} })).data).toEqual({ a: { a: "1" } });
    await cache.bulkGetSecret({ metadata: { maxresults: "1" } });
    expect(state.bulkCalls).toBe(2);
  });

  it("answers a multi-key secret from the cache with every key as an own property, \"__proto__\" included", async () => {
    let calls = 0;
    const multi: SecretStore = {
      init: async () => {},
      features: () => [],
      async getSecret() {
        calls++;
        return { data: JSON.parse('{"user":"u","__proto__":"p","pass":"s"}') as Record<string, string>, version: { version: "v1", updatedOn: 5 } };
      },
      bulkGetSecret: async () => ({ data: {} }),
      close: async () => {},
    };
    const cache = createCachingSecretStore(multi, "multi", { counters: createCounters(), logger, environment: fakeClock() });
    const first = await cache.getSecret({ name: "db", metadata: {} });
    const second = await cache.getSecret({ name: "db", metadata: {} });
    expect(calls).toBe(1);
    for (const answer of [first, second]) {
      expect(Object.entries(answer.data)).toEqual([
        ["user", "u"],
        ["__proto__", "p"],
        ["pass", "s"],
      ]);
      expect(Object.getPrototypeOf(answer.data)).toBe(Object.prototype);
      expect(answer.version).toEqual({ version: "v1", updatedOn: 5 });
    }
    // Each reader gets its own data; the version is the cache's own object, frozen, so no reader can change it.
    expect(second.data).not.toBe(first.data);
    expect(Object.isFrozen(first.version)).toBe(true);
    expect(() => {
      (first.version as { version?: string }).version = "changed";
    }).toThrow(TypeError);
    expect(second.version).toEqual({ version: "v1", updatedOn: 5 });
  });

  it("never lets names shaped like another read's key share its entry (a store that accepts any name)", async () => {
    let calls = 0;
    const anyName: SecretStore = {
      init: async () => {},
      features: () => [],
      requestMetadataKeys: { get: ["version_id"], bulk: [] },
      async getSecret(req: GetSecretRequest) {
        calls++;
        return { data: { [req.name]: `${req.name}|${req.metadata.version_id ?? ""}` } };
      },
      bulkGetSecret: async () => ({ data: { listed: { listed: "bulk" } } }),
      close: async () => {},
    };
    const cache = createCachingSecretStore(anyName, "any", { counters: createCounters(), logger, environment: fakeClock() });
    const reads: Array<[string, Record<string, string>]> = [
      ["x", {}],
      ["x", { version_id: "1" }],
      ['["x","version_id=1"]', {}],
      ['["x"]', {}],
      ["[", {}],
      ["\u0000bulk", {}],
      ["", {}],
    ];
    for (let round = 0; round < 2; round++) {
      for (const [name, metadata] of reads) {
        expect((await cache.getSecret({ name, metadata })).data[name]).toBe(`${name}|${metadata.version_id ?? ""}`);
      }
      expect((await cache.bulkGetSecret({ metadata: {} })).data).toEqual({ listed: { listed: "bulk" } });
    }
    // Each distinct read was loaded once and then served from its own entry.
    expect(calls).toBe(reads.length);
    expect(cache.cachedNames().sort()).toEqual(["", "[", '["x","version_id=1"]', '["x"]', "\u0000bulk", "x"].sort());
  });

  it("keeps its per-name bookkeeping within maxEntries however many distinct names are read", async () => {
    const { get, cache, values } = setup({ maxEntries: 10 });
    for (let i = 0; i < 1_000; i++) {
      if (i % 2 === 0) values.set(`n${i}`, String(i));
      // Values, not-found answers, pinned versions and invalidated (stale) entries all take a slot.
      await get(`n${i}`, i % 3 === 0 ? { version_id: `v${i}` } : {}).catch((e: unknown) => {
        if (!isSecretNotFoundError(e)) throw e;
      });
      if (i % 5 === 0) cache.invalidate(`n${i}`);
      expect(cache.cachedNames().length).toBeLessThanOrEqual(10);
    }
    expect(cache.cachedNames().length).toBe(10);
  });

  it("evicts least recently used entries beyond maxEntries", async () => {
    const { get, state, values } = setup({ maxEntries: 2 });
    values.set("b", "2");
    values.set("c", "3");
    await get("a");
    await get("b");
    await get("c");
    await get("a");
    expect(state.calls).toBe(4);
  });
});
