/**
 * Bulk reads of stores that can list names (Key Vault): one listing, then every value through the
 * cache, concurrently and bounded, sharing entries and single-flight with single reads.
 */
import { describe, expect, it } from "vitest";
import { type GetSecretRequest, type NameListingSecretStore } from "../../src/components/secretstores/secretStore";
import type { Logger } from "../../src/observability/logger";
import { createCachingSecretStore, createCounters } from "../../src/runtime/secretCache";

const logger: Logger = { info: () => {}, warn: () => {}, error: () => {} };

/** An upstream whose value reads wait until released, so the test sees how many run at once. */
function gatedUpstream(count: number) {
  const names = Array.from({ length: count }, (_, i) => `s${i}`);
  const state = { inFlight: 0, maxInFlight: 0, gets: new Map<string, number>(), lists: 0, waiting: [] as (() => void)[] };
  const store: NameListingSecretStore = {
    init: async () => {},
    features: () => [],
    async listSecretNames() {
      state.lists++;
      return [...names];
    },
    async getSecret(req: GetSecretRequest) {
      state.gets.set(req.name, (state.gets.get(req.name) ?? 0) + 1);
      state.inFlight++;
      state.maxInFlight = Math.max(state.maxInFlight, state.inFlight);
      await new Promise<void>((resolve) => state.waiting.push(resolve));
      state.inFlight--;
      return { data: { [req.name]: `value-of-${req.name}` } };
    },
    async bulkGetSecret() {
      throw new Error("the cache must not call the store's own bulk read");
    },
    close: async () => {},
  };
  /** Releases waiting reads until `done` settles. */
  const drain = async <T>(done: Promise<T>): Promise<T> => {
    let settled = false;
    void done.finally(() => (settled = true));
    while (!settled) {
      const next = state.waiting.shift();
      if (next !== undefined) next();
      await new Promise((r) => setImmediate(r));
    }
    return done;
  };
  return { store, state, drain };
}

describe("bulk reads through the cache", () => {
  it("100 uncached secrets: one listing, at most 16 value reads at once, each read once; later single reads are cache hits", async () => {
    const { store, state, drain } = gatedUpstream(100);
    const counters = createCounters();
    const cache = createCachingSecretStore(store, "kv", { counters, logger });
    const bulk = await drain(cache.bulkGetSecret({ metadata: {} }));
    expect(Object.keys(bulk.data)).toHaveLength(100);
    expect(bulk.data.s42).toEqual({ s42: "value-of-s42" });
    expect(state.lists).toBe(1);
    expect(state.maxInFlight).toBe(16);
    expect([...state.gets.values()].every((n) => n === 1)).toBe(true);
    const single = await cache.getSecret({ name: "s7", metadata: {} });
    expect(single.data).toEqual({ s7: "value-of-s7" });
    expect(state.gets.get("s7")).toBe(1);
  });
  it("a single read in flight for a name the bulk read needs is shared, not repeated", async () => {
    const { store, state, drain } = gatedUpstream(3);
    const cache = createCachingSecretStore(store, "kv", { counters: createCounters(), logger });
    const single = cache.getSecret({ name: "s1", metadata: {} });
    const bulk = cache.bulkGetSecret({ metadata: {} });
    const [s, b] = await drain(Promise.all([single, bulk]));
    expect(s.data).toEqual({ s1: "value-of-s1" });
    expect(b.data.s1).toEqual({ s1: "value-of-s1" });
    expect(state.gets.get("s1")).toBe(1);
  });
});
