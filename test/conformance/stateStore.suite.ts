/**
 * @module The shared state store conformance suite: Dapr's `tests/conformance/state` scenarios
 * (§8.1–8.5 of the API reference) translated to the provider API, plus vaultstate's own policy
 * (an etag the store never issues creates a missing key, one it issued for a deleted key is a
 * mismatch, first-write conflicts as mismatches, TTL everywhere it is claimed), a lost-update check
 * under concurrency and a property test of the delete/save race. Every provider runs the same suite.
 */
import { randomUUID } from "node:crypto";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { StateFeature } from "../../src/components/features";
import {
  type DeleteStateRequest,
  type SetStateRequest,
  type StateStore,
  type TransactionOperation,
  isETagError,
  isTransactionalStateStore,
  type QueryableStateStore,
} from "../../src/components/state/stateStore";

/**
 * Keys Dapr accepts (anything without `||`), with the characters stores have trouble with: `/ \ # ?`
 * and control characters (forbidden in Azure Table keys), percent signs (the table encoding's escape),
 * dot segments and slashes (blob names), quotes (OData), Unicode and long keys. Every store must
 * save, read, list and delete each of them under its own name.
 */
export const KEY_CORPUS: readonly string[] = [
  "a/b",
  "/leading",
  "trailing/",
  "a//b",
  "a\\b",
  "a#b",
  "a?b",
  "?#/\\",
  "100%",
  "%",
  "a%2Fb",
  "%2525",
  "%%41",
  "tab\there",
  "new\nline",
  "nul\u0000",
  "del\u007f",
  "c1\u0085",
  "space key",
  "plus+key",
  "'quoted' \"double\"",
  "<>&",
  "é ✓ 😀",
  "e\u0301",
  "a|b",
  "|",
  ".",
  "..",
  "a/../b",
  "./x",
  "...",
  "dot.",
  "x".repeat(200),
];

/** A clock the test moves: real time plus an offset, so real waits still count. */
export interface TestClock {
  /** Milliseconds since the epoch, as the store sees them. */
  now(): number;
  advance(ms: number): void;
}

/** Creates a {@link TestClock}; pass `clock.now` to the store and the clock to the suite. */
export function createTestClock(): TestClock {
  let offset = 0;
  return {
    now: () => Date.now() + offset,
    advance: (ms) => {
      offset += ms;
    },
  };
}

/** How a provider joins the suite. */
export interface StateStoreConformanceOptions {
  name: string;
  /** Returns an initialised store; called once for the suite. */
  create: () => Promise<StateStore>;
  /** The features the provider must advertise, exactly. */
  features: readonly StateFeature[];
  /** Tests to skip, each with the reason (shown in the test name). */
  skip?: readonly { reason: string; tests: readonly string[] }[];
  /** The store's clock; without it TTL tests wait in real time. */
  clock?: TestClock;
  /** An etag the store never issues (Dapr's `badEtag`, default `"bad-etag"`). */
  badEtag?: string;
  /** Rounds of the delete/save race property (default 200). */
  raceRounds?: number;
}

/** Registers the conformance tests for one provider. */
export function runStateStoreConformance(options: StateStoreConformanceOptions): void {
  const has = (feature: StateFeature): boolean => options.features.includes(feature);
  const skipReasons = new Map<string, string>();
  for (const entry of options.skip ?? []) for (const test of entry.tests) skipReasons.set(test, entry.reason);
  const test = (name: string, fn: () => Promise<void>, timeoutInMs?: number): void => {
    const reason = skipReasons.get(name);
    if (reason !== undefined) it.skip(`${name} (skipped: ${reason})`, fn);
    else it(name, fn, timeoutInMs);
  };
  const badEtag = options.badEtag ?? "bad-etag";
  const now = (): number => (options.clock ?? { now: Date.now }).now();

  describe(`state store conformance: ${options.name}`, () => {
    let store: StateStore;
    // One partition/prefix for the whole run, so transactional keys always share a partition.
    const run = randomUUID().slice(0, 8);
    const key = (name: string): string => `conformance||${run}-${name}`;

    const set = (k: string, value: string, extra: Partial<SetStateRequest> = {}): Promise<void> =>
      store.set({ key: k, value, metadata: {}, options: {}, ...extra });
    const get = (k: string) => store.get({ key: k, metadata: {}, options: {} });
    const del = (k: string, extra: Partial<DeleteStateRequest> = {}): Promise<void> => store.delete({ key: k, metadata: {}, options: {}, ...extra });
    const etagOf = async (k: string): Promise<string> => {
      const item = await get(k);
      expect(item?.etag).toBeTruthy();
      return item?.etag ?? "";
    };
    const expectMismatch = async (promise: Promise<unknown>): Promise<void> => {
      const error = await promise.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isETagError(error), `expected an ETagError, got ${String(error)}`).toBe(true);
      if (isETagError(error)) expect(error.kind).toBe("mismatch");
    };
    /** Waits out a TTL: moves the store's clock, or polls in real time. */
    const expire = async (k: string, ttlInSeconds: number): Promise<void> => {
      if (options.clock !== undefined) {
        options.clock.advance(ttlInSeconds * 1000 + 1);
        expect(await get(k)).toBeUndefined();
        return;
      }
      const deadline = Date.now() + ttlInSeconds * 1000 + 3000;
      while ((await get(k)) !== undefined) {
        if (Date.now() > deadline) throw new Error(`key ${k} did not expire`);
        await new Promise((r) => setTimeout(r, 200));
      }
    };

    beforeAll(async () => {
      store = await options.create();
    });
    afterAll(async () => {
      await store?.close();
    });

    // §8.1.7 features, both directions.
    test("features: advertises exactly the expected features", async () => {
      expect([...store.features()].sort()).toEqual([...options.features].sort());
    });

    test("features: TRANSACTIONAL is claimed if and only if transact is implemented", async () => {
      expect("transact" in store).toBe(has("TRANSACTIONAL"));
      expect(isTransactionalStateStore(store)).toBe(has("TRANSACTIONAL"));
    });

    // §8.1.2 value types: the stored JSON text comes back byte for byte.
    test("set/get: every value type round-trips exactly", async () => {
      const values: Record<string, [string, Record<string, string>?]> = {
        int: ["123"],
        bool: ["true"],
        bytes: ['"AQ=="'],
        jsonInString: [JSON.stringify('{"a":"b"}')],
        string: ['"hello world"'],
        emptyString: ['""'],
        null: ["null"],
        struct: [JSON.stringify({ message: `test${run}` }), { contentType: "application/json" }],
        nested: [JSON.stringify({ product: { value: 15 }, status: "ACTIVE", message: "dapr" }), { contentType: "application/json" }],
        number: [JSON.stringify({ message: 42 }), { contentType: "application/json" }],
        unicode: [JSON.stringify("héllo wörld ✓ 😀 \u0000 <&>")],
        large: [JSON.stringify("x".repeat(16 * 1024))],
      };
      for (const [name, [value, metadata = {}]] of Object.entries(values)) await set(key(`type-${name}`), value, { metadata });
      for (const [name, [value]] of Object.entries(values)) {
        const item = await get(key(`type-${name}`));
        expect(item?.data, name).toBe(value);
      }
      // "" is present, not missing (GET answers 200 '""', not 204).
      expect(await get(key("type-emptyString"))).toMatchObject({ data: '""' });
    });

    test("get: a never-written key is undefined", async () => {
      expect(await get(key("never-written"))).toBeUndefined();
    });

    test("get: returns a non-empty etag and no TTL metadata for an item without TTL", async () => {
      await set(key("etag-present"), '"v"');
      const item = await get(key("etag-present"));
      expect(item?.etag).toEqual(expect.any(String));
      expect(item?.etag).not.toBe("");
      expect(item?.metadata?.ttlExpireTime).toBeUndefined();
    });

    test("set: every write produces a new etag, even with the same value", async () => {
      await set(key("new-etag"), '"same"');
      const first = await etagOf(key("new-etag"));
      await set(key("new-etag"), '"same"');
      const second = await etagOf(key("new-etag"));
      expect(second).not.toBe(first);
    });

    // §8.1.3
    test("delete: removes a key; deleting never-written keys succeeds", async () => {
      await set(key("to-delete"), '"bye"');
      await del(key("to-delete"));
      expect(await get(key("to-delete"))).toBeUndefined();
      await expect(del(key("never-written-delete"))).resolves.toBeUndefined();
      await expect(del(key("to-delete"))).resolves.toBeUndefined();
    });

    // §8.1.4–8.1.6 as the API's default bulk does it: parallel single-key calls.
    test("bulk: parallel sets, gets and deletes of several keys", async () => {
      const entries = Array.from({ length: 8 }, (_, i) => [key(`bulk-${i}`), JSON.stringify({ i })] as const);
      await Promise.all(entries.map(([k, v]) => set(k, v)));
      const items = await Promise.all([...entries.map(([k]) => get(k)), get(key("bulk-doesnotexist"))]);
      expect(items.slice(0, -1).map((item) => item?.data)).toEqual(entries.map(([, v]) => v));
      expect(items.at(-1)).toBeUndefined();
      await Promise.all(entries.slice(0, 2).map(([k]) => del(k)));
      expect(await get(entries[0][0])).toBeUndefined();
      expect(await get(entries[1][0])).toBeUndefined();
      expect((await get(entries[2][0]))?.data).toBe(entries[2][1]);
    });

    test("keys: every key of the corpus saves, reads, deletes under its own name", async () => {
      const corpusKey = (k: string): string => `corpus||${k}`;
      await Promise.all(KEY_CORPUS.map((k, i) => set(corpusKey(k), JSON.stringify(i))));
      const read = await Promise.all(KEY_CORPUS.map((k) => get(corpusKey(k))));
      read.forEach((item, i) => expect(item?.data, JSON.stringify(KEY_CORPUS[i])).toBe(JSON.stringify(i)));
      if (isTransactionalStateStore(store)) {
        const tx = store;
        await tx.transact({ operations: KEY_CORPUS.slice(0, 20).map((k) => ({ operation: "upsert", request: { key: corpusKey(k), value: '"tx"', metadata: {}, options: {} } })), metadata: {} });
        for (const k of KEY_CORPUS.slice(0, 20)) expect((await get(corpusKey(k)))?.data, JSON.stringify(k)).toBe('"tx"');
        await tx.transact({ operations: KEY_CORPUS.slice(0, 20).map((k) => ({ operation: "delete", request: { key: corpusKey(k), metadata: {}, options: {} } })), metadata: {} });
        for (const k of KEY_CORPUS.slice(0, 20)) expect(await get(corpusKey(k)), JSON.stringify(k)).toBeUndefined();
      }
      await Promise.all(KEY_CORPUS.map((k) => del(corpusKey(k))));
      for (const k of KEY_CORPUS) expect(await get(corpusKey(k)), JSON.stringify(k)).toBeUndefined();
    });

    if (has("QUERY_API")) {
      test("scan: lists exactly the prefix's live items, a bounded page at a time, resuming at the cursor", async () => {
        const scanner = store as QueryableStateStore;
        const mine = [`scan${run}||a`, `scan${run}||b/c`, `scan${run}||d#?`, `scan${run}||e`, `scan${run}||f`];
        await Promise.all(mine.map((k, i) => set(k, JSON.stringify({ i }))));
        await set(`scan${run}x||other`, '"not mine"');
        await set(`other${run}||a`, '"not mine"');
        const seen: string[] = [];
        let after: string | undefined;
        for (let pages = 0; pages < 10; pages++) {
          const page = await scanner.scan({ prefix: `scan${run}||`, after, limit: 2 });
          expect(page.items.length).toBeLessThanOrEqual(2);
          for (const item of page.items) {
            seen.push(item.key);
            expect(item.data).toBe(JSON.stringify({ i: mine.indexOf(item.key) }));
            expect(item.etag).not.toBe("");
          }
          after = page.items.at(-1)?.cursor ?? after;
          if (page.done) break;
        }
        expect([...seen].sort()).toEqual([...mine].sort());
        if (has("TTL")) {
          await set(`scan${run}||short`, '"soon gone"', { metadata: { ttlInSeconds: "1" } });
          await expire(`scan${run}||short`, 1);
          const all = await scanner.scan({ prefix: `scan${run}||`, limit: 100 });
          expect(all.items.map((i) => i.key)).not.toContain(`scan${run}||short`);
          expect(all.done).toBe(true);
        }
      });
    }

    test("keys: spaces, punctuation and non-ASCII characters are fine", async () => {
      const odd = key("odd key: é ✓ (1) [x] & 'q' +~");
      await set(odd, '"odd"');
      expect((await get(odd))?.data).toBe('"odd"');
      await del(odd);
      expect(await get(odd)).toBeUndefined();
    });

    if (has("ETAG")) {
      // §8.3
      test("etag: a bad etag is a mismatch and leaves the item unchanged", async () => {
        await set(key("etag-bad"), '"v0"');
        const etag = await etagOf(key("etag-bad"));
        await expectMismatch(set(key("etag-bad"), '"v1"', { etag: badEtag }));
        expect(await get(key("etag-bad"))).toMatchObject({ data: '"v0"', etag });
      });

      test("etag: the current etag updates the item and the etag changes", async () => {
        await set(key("etag-good"), '"v0"');
        const etag = await etagOf(key("etag-good"));
        await set(key("etag-good"), '"v1"', { etag });
        const item = await get(key("etag-good"));
        expect(item?.data).toBe('"v1"');
        expect(item?.etag).not.toBe(etag);
        // The old etag is now stale.
        await expectMismatch(set(key("etag-good"), '"v2"', { etag }));
        expect((await get(key("etag-good")))?.data).toBe('"v1"');
      });

      test("etag: several keys written at once fail and succeed independently", async () => {
        await Promise.all([set(key("etag-multi-1"), '"a1"'), set(key("etag-multi-2"), '"b1"')]);
        const [etag1, etag2] = [await etagOf(key("etag-multi-1")), await etagOf(key("etag-multi-2"))];
        const results = await Promise.allSettled([
          set(key("etag-multi-1"), '"a2"', { etag: badEtag }),
          set(key("etag-multi-2"), '"b2"', { etag: etag2 }),
        ]);
        expect(results.map((r) => r.status)).toEqual(["rejected", "fulfilled"]);
        const failure = results[0].status === "rejected" ? results[0].reason : undefined;
        expect(isETagError(failure) && failure.kind === "mismatch").toBe(true);
        expect(await get(key("etag-multi-1"))).toMatchObject({ data: '"a1"', etag: etag1 });
        const second = await get(key("etag-multi-2"));
        expect(second?.data).toBe('"b2"');
        expect(second?.etag).not.toBe(etag2);
        // §8.3.5: both with valid etags.
        await Promise.all([
          set(key("etag-multi-1"), '"a3"', { etag: etag1 }),
          set(key("etag-multi-2"), '"b3"', { etag: second?.etag }),
        ]);
        expect((await get(key("etag-multi-1")))?.data).toBe('"a3"');
        expect((await get(key("etag-multi-2")))?.data).toBe('"b3"');
      });

      test("etag: delete with a bad etag is a mismatch; with the current etag it succeeds", async () => {
        await set(key("etag-delete"), '"v"');
        const etag = await etagOf(key("etag-delete"));
        await expectMismatch(del(key("etag-delete"), { etag: badEtag }));
        expect(await get(key("etag-delete"))).toMatchObject({ data: '"v"', etag });
        await del(key("etag-delete"), { etag });
        expect(await get(key("etag-delete"))).toBeUndefined();
      });

      test("etag: deletes of several keys fail and succeed independently", async () => {
        await Promise.all([set(key("etag-bulkdel-1"), "1"), set(key("etag-bulkdel-2"), "2"), set(key("etag-bulkdel-3"), "3")]);
        const etags = await Promise.all([1, 2, 3].map((i) => etagOf(key(`etag-bulkdel-${i}`))));
        const results = await Promise.allSettled([del(key("etag-bulkdel-1"), { etag: etags[0] }), del(key("etag-bulkdel-2"), { etag: badEtag })]);
        expect(results.map((r) => r.status)).toEqual(["fulfilled", "rejected"]);
        expect(await get(key("etag-bulkdel-1"))).toBeUndefined();
        expect(await get(key("etag-bulkdel-2"))).toMatchObject({ data: "2", etag: etags[1] });
        await Promise.all([del(key("etag-bulkdel-2"), { etag: etags[1] }), del(key("etag-bulkdel-3"), { etag: etags[2] })]);
        expect(await get(key("etag-bulkdel-2"))).toBeUndefined();
        expect(await get(key("etag-bulkdel-3"))).toBeUndefined();
      });

      test("etag: an etag the store never issues creates a key that does not exist yet (policy)", async () => {
        await set(key("etag-missing"), '"created"', { etag: badEtag });
        expect((await get(key("etag-missing")))?.data).toBe('"created"');
        // The @dapr/dapr e2e flow: etag "1234" + first-write on a fresh key.
        await set(key("etag-missing-fw"), '"created"', { etag: "1234", options: { concurrency: "first-write" } });
        expect((await get(key("etag-missing-fw")))?.data).toBe('"created"');
        // On a live item such an etag is a mismatch like any other.
        await expectMismatch(set(key("etag-missing-fw"), '"again"', { etag: "1234", options: { concurrency: "first-write" } }));
      });

      test("etag: a save with the etag of a deleted item is a mismatch and leaves it deleted", async () => {
        for (const how of ["delete with etag", "delete without etag"] as const) {
          const k = key(`etag-deleted-${how.replaceAll(" ", "-")}`);
          await set(k, '"v"');
          const etag = await etagOf(k);
          await del(k, how === "delete with etag" ? { etag } : {});
          await expectMismatch(set(k, '"resurrected"', { etag }));
          await expectMismatch(set(k, '"resurrected"', { etag, options: { concurrency: "first-write" } }));
          expect(await get(k)).toBeUndefined();
        }
      });

      test("etag: delete with an etag of a missing key is a mismatch", async () => {
        await expectMismatch(del(key("etag-delete-missing"), { etag: badEtag }));
        await set(key("etag-delete-gone"), '"v"');
        const etag = await etagOf(key("etag-delete-gone"));
        await del(key("etag-delete-gone"));
        await expectMismatch(del(key("etag-delete-gone"), { etag }));
      });

      // §8.4
      test("first-write: without an etag (absent or empty) succeeds once, then is a mismatch", async () => {
        for (const etag of [undefined, ""]) {
          const k = key(`first-write-${etag === undefined ? "none" : "empty"}`);
          await del(k);
          await set(k, '"first"', { options: { concurrency: "first-write" }, ...(etag === undefined ? {} : { etag }) });
          expect((await get(k))?.data).toBe('"first"');
          await expectMismatch(set(k, '"second"', { options: { concurrency: "first-write" }, ...(etag === undefined ? {} : { etag }) }));
          expect((await get(k))?.data).toBe('"first"');
          // After a delete the key is free again.
          await del(k);
          await set(k, '"third"', { options: { concurrency: "first-write" } });
          expect((await get(k))?.data).toBe('"third"');
        }
      });

      test("first-write: with an etag it behaves like the etag check", async () => {
        const k = key("first-write-etag");
        await set(k, '"v0"');
        const etag = await etagOf(k);
        await set(k, '"v1"', { etag, options: { concurrency: "first-write" } });
        const next = await etagOf(k);
        expect(next).not.toBe(etag);
        await expectMismatch(set(k, '"v2"', { etag, options: { concurrency: "first-write" } }));
        expect((await get(k))?.data).toBe('"v1"');
      });

      test(
        "concurrency: 100 concurrent read-modify-write increments with etag and retry end at exactly 100",
        async () => {
          const k = key("counter");
          await set(k, "0");
          let conflicts = 0;
          const increment = async (): Promise<void> => {
            for (;;) {
              const item = await get(k);
              const next = String(Number(item?.data ?? "0") + 1);
              try {
                await set(k, next, { etag: item?.etag });
                return;
              } catch (e) {
                if (!isETagError(e)) throw e;
                conflicts++;
                await new Promise((r) => setTimeout(r, Math.random() * 20));
              }
            }
          };
          await Promise.all(Array.from({ length: 100 }, increment));
          expect((await get(k))?.data).toBe("100");
          // Not a requirement, but proof the test exercised contention at all.
          expect(conflicts).toBeGreaterThan(0);
        },
        120_000,
      );

      test(
        "concurrency: of a delete and a save guarded by the same etag exactly one succeeds (property)",
        async () => {
          let round = 0;
          /** Runs one side either as a single call or, on transactional stores, as a one-operation transaction. */
          const run = (operation: TransactionOperation, viaTransaction: boolean): Promise<void> => {
            if (viaTransaction && isTransactionalStateStore(store)) return store.transact({ operations: [operation], metadata: {} });
            return operation.operation === "upsert" ? store.set(operation.request) : store.delete(operation.request);
          };
          const turns = (n: number): Promise<void> =>
            Array.from({ length: n }).reduce<Promise<void>>((p) => p.then(() => new Promise((r) => setImmediate(r))), Promise.resolve());
          await fc.assert(
            fc.asyncProperty(
              fc.boolean(), // which side starts first
              fc.nat({ max: 3 }), // event-loop turns before the other side starts
              fc.boolean(), // save through a transaction
              fc.boolean(), // delete through a transaction
              fc.jsonValue({ maxDepth: 2 }),
              async (saveFirst, gap, saveInTx, deleteInTx, value) => {
                const k = key(`race-${round++}`);
                await set(k, '"original"');
                const etag = await etagOf(k);
                const data = JSON.stringify(value);
                const save = (): Promise<void> =>
                  run({ operation: "upsert", request: { key: k, value: data, etag, metadata: {}, options: {} } }, saveInTx);
                const remove = (): Promise<void> => run({ operation: "delete", request: { key: k, etag, metadata: {}, options: {} } }, deleteInTx);
                const [first, second] = saveFirst ? [save, remove] : [remove, save];
                const settled = await Promise.allSettled([first(), turns(gap).then(second)]);
                const [saved, deleted] = saveFirst ? settled : [settled[1], settled[0]];
                const succeeded = settled.filter((r) => r.status === "fulfilled").length;
                expect(succeeded, `save ${saved.status}, delete ${deleted.status}`).toBe(1);
                const loser = settled.find((r) => r.status === "rejected");
                // A single call reports the lost race as a mismatch; a transaction may wrap it.
                if (loser?.status === "rejected" && !(saved.status === "rejected" ? saveInTx : deleteInTx)) {
                  expect(isETagError(loser.reason) && loser.reason.kind === "mismatch", String(loser.reason)).toBe(true);
                }
                const after = await get(k);
                if (saved.status === "fulfilled") {
                  expect(after?.data).toBe(data);
                  expect(after?.etag).not.toBe(etag);
                } else {
                  expect(after).toBeUndefined();
                  // The acknowledged delete stays acknowledged: the same etag cannot bring the key back.
                  await expectMismatch(set(k, data, { etag }));
                  expect(await get(k)).toBeUndefined();
                }
              },
            ),
            { numRuns: options.raceRounds ?? 200 },
          );
        },
        300_000,
      );
    }

    if (has("TTL")) {
      // §8.5
      test("ttl: invalid ttlInSeconds values are errors and nothing is written", async () => {
        for (const ttl of ["foo", "-2", "1.5", "2147483648", " 5"]) {
          const k = key(`ttl-invalid-${ttl.trim()}`);
          const error = await set(k, '"v"', { metadata: { ttlInSeconds: ttl } }).then(
            () => undefined,
            (e: unknown) => e,
          );
          expect(error, ttl).toBeInstanceOf(Error);
          expect(isETagError(error)).toBe(false);
          expect(await get(k)).toBeUndefined();
        }
      });

      test("ttl: an item is readable until its TTL passes, then missing", async () => {
        const k = key("ttl-short");
        await set(k, '"short"', { metadata: { ttlInSeconds: "1" } });
        expect((await get(k))?.data).toBe('"short"');
        await expire(k, 1);
      });

      test("ttl: ttlExpireTime is RFC 3339 UTC and close to now + ttl", async () => {
        const k = key("ttl-hour");
        const before = now();
        await set(k, '"hour"', { metadata: { ttlInSeconds: "3600" } });
        const expireTime = (await get(k))?.metadata?.ttlExpireTime ?? "";
        expect(expireTime).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/);
        const expected = before + 3600_000;
        expect(Math.abs(Date.parse(expireTime) - expected)).toBeLessThan(10_000);
      });

      test("ttl: -1 removes an existing TTL", async () => {
        const k = key("ttl-clear-minus-one");
        await set(k, '"a"', { metadata: { ttlInSeconds: "2" } });
        expect((await get(k))?.metadata?.ttlExpireTime).toBeDefined();
        await set(k, '"b"', { metadata: { ttlInSeconds: "-1" } });
        const item = await get(k);
        expect(item?.metadata?.ttlExpireTime).toBeUndefined();
        if (options.clock !== undefined) options.clock.advance(3000);
        else await new Promise((r) => setTimeout(r, 3000));
        expect((await get(k))?.data).toBe('"b"');
      });

      test("ttl: writing again without a TTL removes it", async () => {
        const k = key("ttl-clear-absent");
        await set(k, '"a"', { metadata: { ttlInSeconds: "2" } });
        const etag = await etagOf(k);
        await set(k, '"b"', { etag });
        expect((await get(k))?.metadata?.ttlExpireTime).toBeUndefined();
        if (options.clock !== undefined) options.clock.advance(3000);
        else await new Promise((r) => setTimeout(r, 3000));
        expect((await get(k))?.data).toBe('"b"');
      });

      test("ttl: several TTL'd keys each report their data and ttlExpireTime", async () => {
        await Promise.all([
          set(key("ttl-bulk-1"), '"123"', { metadata: { ttlInSeconds: "3600" } }),
          set(key("ttl-bulk-2"), '"234"', { metadata: { ttlInSeconds: "3600" } }),
        ]);
        const items = await Promise.all([get(key("ttl-bulk-1")), get(key("ttl-bulk-2"))]);
        expect(items.map((i) => i?.data)).toEqual(['"123"', '"234"']);
        for (const item of items) expect(Date.parse(item?.metadata?.ttlExpireTime ?? "")).toBeGreaterThan(now());
      });

      test("ttl: an expired key counts as missing for first-write, etags and deletes", async () => {
        const k = key("ttl-expired-policy");
        await set(k, '"old"', { metadata: { ttlInSeconds: "1" } });
        const etag = await etagOf(k);
        await expire(k, 1);
        // Its last etag cannot delete it: there is nothing to match.
        await expectMismatch(del(k, { etag }));
        // first-write succeeds on the expired key.
        await set(k, '"new"', { options: { concurrency: "first-write" } });
        expect(await get(k)).toMatchObject({ data: '"new"' });
        // An etag the store never issued creates an expired key like a missing one; the expired
        // item's own etag names a version that is gone: a mismatch, as after a delete.
        const k2 = key("ttl-expired-etag");
        await set(k2, '"old"', { metadata: { ttlInSeconds: "1" } });
        const expiredEtag = await etagOf(k2);
        await expire(k2, 1);
        await expectMismatch(set(k2, '"new"', { etag: expiredEtag }));
        expect(await get(k2)).toBeUndefined();
        await set(k2, '"new"', { etag: badEtag });
        expect((await get(k2))?.data).toBe('"new"');
      });
    } else {
      test("no ttl: ttlInSeconds is ignored and no ttlExpireTime is returned", async () => {
        const k = key("no-ttl");
        await set(k, '"v"', { metadata: { ttlInSeconds: "1" } });
        expect((await get(k))?.metadata?.ttlExpireTime).toBeUndefined();
        if (options.clock !== undefined) options.clock.advance(2000);
        else await new Promise((r) => setTimeout(r, 2000));
        expect((await get(k))?.data).toBe('"v"');
      });
    }

    if (has("TRANSACTIONAL")) {
      const transact = (operations: TransactionOperation[]): Promise<void> => {
        if (!isTransactionalStateStore(store)) throw new Error("not transactional");
        return store.transact({ operations, metadata: { partitionKey: "myPartition" } });
      };
      const upsert = (k: string, value: string, extra: Partial<SetStateRequest> = {}): TransactionOperation => ({
        operation: "upsert",
        request: { key: k, value, metadata: {}, options: {}, ...extra },
      });
      const remove = (k: string, extra: Partial<DeleteStateRequest> = {}): TransactionOperation => ({
        operation: "delete",
        request: { key: k, metadata: {}, options: {}, ...extra },
      });

      // §8.2.1
      test("transaction: grouped upserts and deletes", async () => {
        await transact([
          upsert(key("tx-int"), "123"),
          upsert(key("tx-bool"), "true"),
          upsert(key("tx-bytes"), '"AQ=="'),
          upsert(key("tx-string"), '"hello"'),
          upsert(key("tx-doomed-1"), '"doomed"'),
        ]);
        expect((await get(key("tx-int")))?.data).toBe("123");
        expect((await get(key("tx-doomed-1")))?.data).toBe('"doomed"');
        await transact([upsert(key("tx-struct"), JSON.stringify({ message: "x" }), { metadata: { contentType: "application/json" } }), remove(key("tx-doomed-1"))]);
        expect((await get(key("tx-struct")))?.data).toBe('{"message":"x"}');
        expect(await get(key("tx-doomed-1"))).toBeUndefined();
        await transact([upsert(key("tx-doomed-2"), '"doomed"')]);
        expect((await get(key("tx-doomed-2")))?.data).toBe('"doomed"');
        await transact([remove(key("tx-doomed-2"))]);
        expect(await get(key("tx-doomed-2"))).toBeUndefined();
        for (const [k, v] of [["tx-bool", "true"], ["tx-bytes", '"AQ=="'], ["tx-string", '"hello"']]) expect((await get(key(k)))?.data).toBe(v);
      });

      // §8.2.2
      test("transaction: deleting a missing key succeeds", async () => {
        await expect(transact([remove(key("tx-never-written"))])).resolves.toBeUndefined();
        expect(await get(key("tx-never-written"))).toBeUndefined();
      });

      // §8.2.3
      test("transaction: operations apply in order", async () => {
        await set(key("tx-order-1"), '"value1"');
        await transact([remove(key("tx-order-1")), upsert(key("tx-order-2"), '"value2"'), remove(key("tx-order-2")), upsert(key("tx-order-3"), '"value3"')]);
        expect(await get(key("tx-order-1"))).toBeUndefined();
        expect(await get(key("tx-order-2"))).toBeUndefined();
        expect((await get(key("tx-order-3")))?.data).toBe('"value3"');
      });

      test("transaction: the same key upserted twice keeps the last value, delete then upsert keeps the upsert", async () => {
        await set(key("tx-same-2"), '"old"');
        await transact([
          upsert(key("tx-same-1"), '"first"'),
          upsert(key("tx-same-1"), '"last"'),
          remove(key("tx-same-2")),
          upsert(key("tx-same-2"), '"reborn"'),
        ]);
        expect((await get(key("tx-same-1")))?.data).toBe('"last"');
        expect((await get(key("tx-same-2")))?.data).toBe('"reborn"');
      });

      test("transaction: a bad etag in the middle leaves everything unchanged", async () => {
        await set(key("tx-atomic-b"), '"b0"');
        await set(key("tx-atomic-d"), '"d0"');
        const etagB = await etagOf(key("tx-atomic-b"));
        const etagD = await etagOf(key("tx-atomic-d"));
        const error = await transact([
          upsert(key("tx-atomic-a"), '"a1"'),
          upsert(key("tx-atomic-b"), '"b1"', { etag: badEtag }),
          upsert(key("tx-atomic-c"), '"c1"'),
          remove(key("tx-atomic-d")),
        ]).then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(error).toBeInstanceOf(Error);
        expect(await get(key("tx-atomic-a"))).toBeUndefined();
        expect(await get(key("tx-atomic-b"))).toMatchObject({ data: '"b0"', etag: etagB });
        expect(await get(key("tx-atomic-c"))).toBeUndefined();
        expect(await get(key("tx-atomic-d"))).toMatchObject({ data: '"d0"', etag: etagD });
      });

      test("transaction: a stale etag on delete or a first-write conflict fails the whole transaction", async () => {
        await set(key("tx-stale"), '"s0"');
        const stale = await etagOf(key("tx-stale"));
        await set(key("tx-stale"), '"s1"');
        await expect(transact([upsert(key("tx-stale-other"), '"x"'), remove(key("tx-stale"), { etag: stale })])).rejects.toThrow();
        expect((await get(key("tx-stale")))?.data).toBe('"s1"');
        expect(await get(key("tx-stale-other"))).toBeUndefined();
        await expect(
          transact([upsert(key("tx-stale-other"), '"x"'), upsert(key("tx-stale"), '"s2"', { options: { concurrency: "first-write" } })]),
        ).rejects.toThrow();
        expect((await get(key("tx-stale")))?.data).toBe('"s1"');
        expect(await get(key("tx-stale-other"))).toBeUndefined();
      });

      test("transaction: etags are checked against the stored items", async () => {
        await set(key("tx-etag-1"), '"e0"');
        const etag = await etagOf(key("tx-etag-1"));
        await set(key("tx-etag-3"), '"gone"');
        const etag3 = await etagOf(key("tx-etag-3"));
        await transact([
          upsert(key("tx-etag-1"), '"e1"', { etag }),
          // Policy: an etag on a key that does not exist is accepted.
          upsert(key("tx-etag-2"), '"new"', { etag: badEtag }),
          remove(key("tx-etag-3"), { etag: etag3 }),
          upsert(key("tx-etag-4"), '"fw"', { options: { concurrency: "first-write" } }),
        ]);
        expect((await get(key("tx-etag-1")))?.data).toBe('"e1"');
        expect((await etagOf(key("tx-etag-1"))) !== etag).toBe(true);
        expect((await get(key("tx-etag-2")))?.data).toBe('"new"');
        expect(await get(key("tx-etag-3"))).toBeUndefined();
        expect((await get(key("tx-etag-4")))?.data).toBe('"fw"');
      });

      test("transaction: a later operation cannot know the etag an earlier one produced", async () => {
        await set(key("tx-chain"), '"c0"');
        const etag = await etagOf(key("tx-chain"));
        await expect(transact([upsert(key("tx-chain"), '"c1"', { etag }), upsert(key("tx-chain"), '"c2"', { etag })])).rejects.toThrow();
        expect(await get(key("tx-chain"))).toMatchObject({ data: '"c0"', etag });
        // Deleting then re-creating with first-write in one transaction is fine.
        await transact([remove(key("tx-chain"), { etag }), upsert(key("tx-chain"), '"c3"', { options: { concurrency: "first-write" } })]);
        expect((await get(key("tx-chain")))?.data).toBe('"c3"');
      });

      if (has("TTL")) {
        test("transaction: upserts honour ttlInSeconds", async () => {
          await transact([upsert(key("tx-ttl"), '"t"', { metadata: { ttlInSeconds: "1" } }), upsert(key("tx-no-ttl"), '"n"')]);
          expect((await get(key("tx-ttl")))?.metadata?.ttlExpireTime).toBeDefined();
          expect((await get(key("tx-no-ttl")))?.metadata?.ttlExpireTime).toBeUndefined();
          await expire(key("tx-ttl"), 1);
          expect((await get(key("tx-no-ttl")))?.data).toBe('"n"');
        });
      }

      test("transaction: as many operations as maxOperationsPerTransaction succeed", async () => {
        if (!isTransactionalStateStore(store)) throw new Error("not transactional");
        const max = store.maxOperationsPerTransaction() ?? 250;
        await transact(Array.from({ length: max }, (_, i) => upsert(key(`tx-max-${i}`), String(i))));
        expect((await get(key("tx-max-0")))?.data).toBe("0");
        expect((await get(key(`tx-max-${max - 1}`)))?.data).toBe(String(max - 1));
      });
    }
  });
}
