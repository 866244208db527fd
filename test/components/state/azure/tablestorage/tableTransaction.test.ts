/**
 * @module Unit tests of the Table batch planner: collapse per key, conditions, tombstones.
 */
import { describe, expect, it } from "vitest";
import {
  CrossPartitionTransactionError,
  type RowHead,
  keysNeedingHead,
  planTableTransaction,
  transactionPartition,
} from "../../../../../src/components/state/azure/tablestorage/tableTransaction";
import { type TransactionOperation, isETagError } from "../../../../../src/components/state/stateStore";
import { TtlError } from "../../../../../src/components/state/ttl";

const ETAG = `W/"datetime'2024-01-01T00%3A00%3A00.0000000Z'"`;
const OTHER = `W/"datetime'2024-01-02T00%3A00%3A00.0000000Z'"`;
const NOW = Date.UTC(2024, 0, 1);

const upsert = (key: string, value: string, extra: { etag?: string; firstWrite?: boolean; ttl?: string } = {}): TransactionOperation => ({
  operation: "upsert",
  request: {
    key,
    value,
    ...(extra.etag === undefined ? {} : { etag: extra.etag }),
    metadata: extra.ttl === undefined ? {} : { ttlInSeconds: extra.ttl },
    options: extra.firstWrite === true ? { concurrency: "first-write" } : {},
  },
});
const remove = (key: string, etag?: string): TransactionOperation => ({
  operation: "delete",
  request: { key, ...(etag === undefined ? {} : { etag }), metadata: {}, options: {} },
});
const plan = (ops: TransactionOperation[], heads: Record<string, RowHead | undefined> = {}) =>
  planTableTransaction(ops, new Map(Object.entries(heads)), { nowInMs: NOW });
const isMismatch = (fn: () => unknown): boolean => {
  try {
    fn();
  } catch (e) {
    return isETagError(e) && e.kind === "mismatch";
  }
  return false;
};

describe("planTableTransaction", () => {
  it("upserts unconditional writes and tombstones unconditional deletes", () => {
    expect(plan([upsert("a||1", '"x"'), remove("a||2")])).toEqual([
      { kind: "upsert", entity: { partitionKey: "a", rowKey: "1", Value: '"x"' }, tombstone: false },
      { kind: "upsert", entity: { partitionKey: "a", rowKey: "2", TtlExpireTime: new Date(0) }, tombstone: true },
    ]);
  });

  it("collapses several operations on one key to one action with the last effect", () => {
    expect(plan([upsert("a||k", "1"), upsert("a||k", "2")])).toEqual([
      { kind: "upsert", entity: { partitionKey: "a", rowKey: "k", Value: "2" }, tombstone: false },
    ]);
    expect(plan([upsert("a||k", "1"), remove("a||k")])).toEqual([
      { kind: "upsert", entity: { partitionKey: "a", rowKey: "k", TtlExpireTime: new Date(0) }, tombstone: true },
    ]);
    expect(plan([remove("a||k"), upsert("a||k", "3", { ttl: "10" })])).toEqual([
      { kind: "upsert", entity: { partitionKey: "a", rowKey: "k", Value: "3", TtlExpireTime: new Date(NOW + 10_000) }, tombstone: false },
    ]);
  });

  it("keeps the first operation's condition on the stored row", () => {
    const live = { "a||k": { etag: ETAG, expired: false } };
    expect(plan([upsert("a||k", "1", { etag: ETAG }), remove("a||k")], live)).toEqual([
      { kind: "update", entity: { partitionKey: "a", rowKey: "k", TtlExpireTime: new Date(0) }, etag: ETAG, tombstone: true },
    ]);
    expect(plan([remove("a||k", ETAG)], live)).toEqual([
      { kind: "update", entity: { partitionKey: "a", rowKey: "k", TtlExpireTime: new Date(0) }, etag: ETAG, tombstone: true },
    ]);
  });

  it("creates a missing row for an etag or first-write upsert, and replaces an expired leftover by its etag", () => {
    expect(plan([upsert("a||k", "1", { etag: "1234" })], { "a||k": undefined })).toEqual([
      { kind: "create", entity: { partitionKey: "a", rowKey: "k", Value: "1" }, tombstone: false },
    ]);
    expect(plan([upsert("a||k", "1", { firstWrite: true })], { "a||k": { etag: OTHER, expired: true } })).toEqual([
      { kind: "update", entity: { partitionKey: "a", rowKey: "k", Value: "1" }, etag: OTHER, tombstone: false },
    ]);
    // first-write then delete of a missing key still asserts "missing" atomically.
    expect(plan([upsert("a||k", "1", { firstWrite: true }), remove("a||k")], {})).toEqual([
      { kind: "create", entity: { partitionKey: "a", rowKey: "k", TtlExpireTime: new Date(0) }, tombstone: true },
    ]);
  });

  it("fails fast on conditions the stored rows already break", () => {
    const live = { "a||k": { etag: ETAG, expired: false } };
    expect(isMismatch(() => plan([upsert("a||k", "1", { etag: OTHER })], live))).toBe(true);
    expect(isMismatch(() => plan([upsert("a||k", "1", { etag: "bad-etag" })], live))).toBe(true);
    expect(isMismatch(() => plan([upsert("a||k", "1", { firstWrite: true })], live))).toBe(true);
    expect(isMismatch(() => plan([remove("a||k", OTHER)], live))).toBe(true);
    expect(isMismatch(() => plan([remove("a||k", ETAG)], {}))).toBe(true);
    expect(isMismatch(() => plan([remove("a||k", ETAG)], { "a||k": { etag: ETAG, expired: true } }))).toBe(true);
  });

  it("rejects later conditions that cannot hold inside the transaction", () => {
    const live = { "a||k": { etag: ETAG, expired: false } };
    expect(isMismatch(() => plan([upsert("a||k", "1", { etag: ETAG }), upsert("a||k", "2", { etag: ETAG })], live))).toBe(true);
    expect(isMismatch(() => plan([upsert("a||k", "1"), upsert("a||k", "2", { firstWrite: true })]))).toBe(true);
    expect(isMismatch(() => plan([remove("a||k"), remove("a||k", ETAG)]))).toBe(true);
    // After the transaction deleted a key, an etag or first-write upsert treats it as missing.
    expect(plan([remove("a||k"), upsert("a||k", "2", { etag: ETAG })])).toHaveLength(1);
    expect(plan([remove("a||k"), upsert("a||k", "2", { firstWrite: true })])).toHaveLength(1);
  });

  it("rejects cross-partition transactions, too many operations and bad TTLs", () => {
    expect(() => plan([upsert("a||k", "1"), upsert("b||k", "1")])).toThrow(CrossPartitionTransactionError);
    expect(() => plan(Array.from({ length: 101 }, (_, i) => upsert(`a||${i}`, "1")))).toThrow(RangeError);
    expect(() => plan([upsert("a||k", "1", { ttl: "foo" })])).toThrow(TtlError);
  });
});

describe("transaction helpers", () => {
  it("reads only the rows whose first operation is conditional", () => {
    expect(
      keysNeedingHead([
        upsert("a||plain", "1"),
        upsert("a||etag", "1", { etag: ETAG }),
        upsert("a||fw", "1", { firstWrite: true }),
        remove("a||del"),
        remove("a||deletag", ETAG),
        upsert("a||plain", "2", { etag: ETAG }),
        upsert("a||empty", "1", { etag: "" }),
      ]),
    ).toEqual(["a||etag", "a||fw", "a||deletag"]);
  });

  it("finds the single partition or names how many there are", () => {
    expect(transactionPartition([upsert("a||1", "1"), remove("a||2")])).toBe("a");
    expect(transactionPartition([])).toBeUndefined();
    expect(() => transactionPartition([upsert("a||1", "1"), upsert("b||1", "1"), upsert("c", "1")])).toThrow("span 3 partitions");
  });
});
