/**
 * @module Conformance of `state.azure.tablestorage` on Azurite, plus the provider's own behaviour:
 * table management, auth forms, aliases, key mapping, batch transactions and lazy TTL cleanup.
 */
import { randomUUID } from "node:crypto";
import { TableClient, TableServiceClient } from "@azure/data-tables";
import { describe, expect, it } from "vitest";
import { createTableStateStore } from "../../../../../src/components/state/azure/tablestorage/tableStateStore";
import { isETagError, type TransactionOperation, ValueTooLargeError } from "../../../../../src/components/state/stateStore";
import { createTestClock, runStateStoreConformance } from "../../../../conformance/stateStore.suite";
import { startGatedProxy, useAzurite } from "../../../../setup/azurite";
import { createAzureClients } from "../../../../../src/azure/clients";

const azure = createAzureClients({});

const azurite = useAzurite();
/**
 * The suite checks semantics; its 100 concurrent writers queue up in Azurite far beyond the production
 * deadline on a loaded 2-core machine. Deadlines have their own test (`../deadlines.test.ts`).
 */
const SEMANTICS_ONLY_TIMEOUT = { timeoutInSeconds: "120" };
const origin = (): string => new URL(azurite().tableEndpoint).origin;
const keyProperties = (tableName: string): Record<string, string> => ({
  accountName: azurite().accountName,
  accountKey: azurite().accountKey,
  serviceURL: origin(),
  tableName,
});
const http = { allowInsecureConnection: true };
const tableClient = (tableName: string): TableClient => TableClient.fromConnectionString(azurite().connectionString, tableName, http);
const uniqueTable = (label: string): string => `${label}${randomUUID().replace(/-/g, "").slice(0, 8)}`;
const rows = async (tableName: string): Promise<{ partitionKey: string; rowKey: string; Value?: unknown }[]> => {
  const found: { partitionKey: string; rowKey: string; Value?: unknown }[] = [];
  for await (const e of tableClient(tableName).listEntities()) found.push({ partitionKey: e.partitionKey ?? "", rowKey: e.rowKey ?? "", Value: e.Value });
  return found.sort((a, b) => `${a.partitionKey}/${a.rowKey}`.localeCompare(`${b.partitionKey}/${b.rowKey}`));
};
const upsert = (key: string, value: string): TransactionOperation => ({ operation: "upsert", request: { key, value, metadata: {}, options: {} } });
const remove = (key: string): TransactionOperation => ({ operation: "delete", request: { key, metadata: {}, options: {} } });

const clock = createTestClock();
runStateStoreConformance({
  name: "state.azure.tablestorage (Azurite)",
  features: ["ETAG", "TTL", "TRANSACTIONAL", "QUERY_API"],
  clock,
  badEtag: "bad-etag",
  create: async () => {
    const store = createTableStateStore({ azure, clock: clock.now });
    await store.init({ ...keyProperties("conformance"), ...SEMANTICS_ONLY_TIMEOUT });
    return store;
  },
});

describe("state.azure.tablestorage on Azurite", () => {
  it("creates the table at init, and a second init on it is fine", async () => {
    const name = uniqueTable("created");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    const again = createTableStateStore({ azure });
    await again.init(keyProperties(name));
    const names: string[] = [];
    for await (const t of TableServiceClient.fromConnectionString(azurite().connectionString, http).listTables()) names.push(t.name ?? "");
    expect(names).toContain(name);
    await Promise.all([store.close(), again.close()]);
  });

  it("does not create the table when skipCreateTable=true, so writes fail", async () => {
    const name = uniqueTable("skipped");
    const store = createTableStateStore({ azure });
    await store.init({ ...keyProperties(name), skipCreateTable: "true" });
    const names: string[] = [];
    for await (const t of TableServiceClient.fromConnectionString(azurite().connectionString, http).listTables()) names.push(t.name ?? "");
    expect(names).not.toContain(name);
    const error = await store.set({ key: "demo||k", value: '"v"', metadata: {}, options: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isETagError(error)).toBe(false);
    // A missing table is an error, not a missing key.
    await expect(store.get({ key: "demo||k", metadata: {}, options: {} })).rejects.toThrow();
    await expect(store.delete({ key: "demo||k", metadata: {}, options: {} })).rejects.toThrow();
    await store.close();
  });

  it("authenticates with a connection string and with Dapr's alias field names", async () => {
    const name = uniqueTable("auth");
    const viaConnectionString = createTableStateStore({ azure });
    await viaConnectionString.init({ connectionString: azurite().connectionString, tableName: name });
    await viaConnectionString.set({ key: "demo||k", value: '"cs"', metadata: {}, options: {} });
    const viaAliases = createTableStateStore({ azure });
    await viaAliases.init({
      storageAccountName: azurite().accountName,
      storageAccountKey: azurite().accountKey,
      storageAccountTable: name,
      serviceURL: azurite().tableEndpoint, // with the account already in the path
    });
    expect((await viaAliases.get({ key: "demo||k", metadata: {}, options: {} }))?.data).toBe('"cs"');
    await Promise.all([viaConnectionString.close(), viaAliases.close()]);
  });

  it("maps keys to PartitionKey/RowKey and stores the JSON text in Value", async () => {
    const name = uniqueTable("mapping");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    await store.set({ key: "demo||order1", value: '{"id":1}', metadata: {}, options: {} });
    await store.set({ key: "actor||type||id||k", value: "2", metadata: {}, options: {} });
    await store.set({ key: "noprefix", value: "3", metadata: {}, options: {} });
    expect(await rows(name)).toEqual([
      { partitionKey: "actor", rowKey: "type||id||k", Value: "2" },
      { partitionKey: "demo", rowKey: "order1", Value: '{"id":1}' },
      { partitionKey: "noprefix", rowKey: "", Value: "3" },
    ]);
    // Rows written by Dapr (PartitionKey/RowKey/Value only) read back with a table etag.
    await tableClient(name).createEntity({ partitionKey: "dapr", rowKey: "legacy", Value: '"from dapr"' });
    const legacy = await store.get({ key: "dapr||legacy", metadata: {}, options: {} });
    expect(legacy?.data).toBe('"from dapr"');
    expect(legacy?.etag).toMatch(/^W\/"datetime'.+'"$/);
    // Keys Azure forbids are stored encoded and read back under their own name.
    await store.set({ key: "demo||a/b#c", value: "4", metadata: {}, options: {} });
    expect((await rows(name)).find((r) => r.partitionKey === "demo" && r.rowKey === "a%2Fb%23c")?.Value).toBe("4");
    expect((await store.get({ key: "demo||a/b#c", metadata: {}, options: {} }))?.data).toBe("4");
    await store.close();
  });

  it("rejects a transaction across partitions and writes nothing", async () => {
    const name = uniqueTable("partitions");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    const error = await store.transact({ operations: [upsert("app1||k", "1"), upsert("app2||k", "2")], metadata: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).name).toBe("CrossPartitionTransactionError");
    expect((error as Error).message).toContain("one partition");
    expect(await rows(name)).toEqual([]);
    await store.close();
  });

  it("rejects more than 100 operations", async () => {
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(uniqueTable("limit")));
    expect(store.maxOperationsPerTransaction()).toBe(100);
    const operations = Array.from({ length: 101 }, (_, i) => upsert(`demo||k${i}`, String(i)));
    await expect(store.transact({ operations, metadata: {} })).rejects.toThrow(RangeError);
    await store.close();
  });

  it("collapses upsert-then-delete of one key and leaves no row behind", async () => {
    const name = uniqueTable("collapse");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    await store.set({ key: "demo||gone", value: '"x"', metadata: {}, options: {} });
    await store.transact({ operations: [upsert("demo||temp", "1"), remove("demo||temp"), remove("demo||gone"), upsert("demo||kept", "2")], metadata: {} });
    expect(await store.get({ key: "demo||temp", metadata: {}, options: {} })).toBeUndefined();
    expect(await store.get({ key: "demo||gone", metadata: {}, options: {} })).toBeUndefined();
    await store.close(); // waits for the tombstone cleanup
    expect(await rows(name)).toEqual([{ partitionKey: "demo", rowKey: "kept", Value: "2" }]);
  });

  it("re-plans a transaction whose batch lost a race: a vanished leftover is fine, a changed row is a mismatch", async () => {
    const name = uniqueTable("txrace");
    const holdBatches = (method: string, path: string): boolean => method === "POST" && path.includes("$batch");
    const aheadClock = createTestClock();
    aheadClock.advance(60_000);
    const other = createTableStateStore({ azure });
    await other.init(keyProperties(name));

    // Benign: the store sees an expired leftover and plans "replace it by its etag"; the leftover is
    // deleted before the batch lands, so the batch fails with 404 and the re-plan creates the row.
    const first = await startGatedProxy(origin(), holdBatches);
    const store = createTableStateStore({ azure, clock: aheadClock.now });
    await store.init({ ...keyProperties(name), serviceURL: first.origin });
    await other.set({ key: "demo||leftover", value: '"old"', metadata: { ttlInSeconds: "30" }, options: {} });
    const benign = store.transact({
      operations: [{ operation: "upsert", request: { key: "demo||leftover", value: '"new"', metadata: {}, options: { concurrency: "first-write" } } }],
      metadata: {},
    });
    await expect.poll(() => first.held()).toBe(1);
    await other.delete({ key: "demo||leftover", metadata: {}, options: {} });
    first.release();
    await benign;
    expect((await other.get({ key: "demo||leftover", metadata: {}, options: {} }))?.data).toBe('"new"');
    await store.close();
    await first.close();

    // Real conflict: the row changes between the read and the batch.
    const second = await startGatedProxy(origin(), holdBatches);
    const racer = createTableStateStore({ azure });
    await racer.init({ ...keyProperties(name), serviceURL: second.origin });
    await other.set({ key: "demo||contended", value: '"v0"', metadata: {}, options: {} });
    const etag = (await other.get({ key: "demo||contended", metadata: {}, options: {} }))?.etag;
    const conflicting = racer
      .transact({
        operations: [
          { operation: "upsert", request: { key: "demo||contended", value: '"mine"', etag, metadata: {}, options: {} } },
          upsert("demo||sidecar", '"x"'),
        ],
        metadata: {},
      })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    await expect.poll(() => second.held()).toBe(1);
    await other.set({ key: "demo||contended", value: '"theirs"', metadata: {}, options: {} });
    second.release();
    const error = await conflicting;
    expect(isETagError(error) && error.kind === "mismatch").toBe(true);
    expect((await other.get({ key: "demo||contended", metadata: {}, options: {} }))?.data).toBe('"theirs"');
    expect(await other.get({ key: "demo||sidecar", metadata: {}, options: {} })).toBeUndefined();
    await Promise.all([racer.close(), other.close()]);
    await second.close();
  });

  it("removes an expired row lazily after reading it", async () => {
    const name = uniqueTable("lazy");
    const lazyClock = createTestClock();
    const store = createTableStateStore({ azure, clock: lazyClock.now });
    await store.init(keyProperties(name));
    await store.set({ key: "demo||short", value: '"x"', metadata: { ttlInSeconds: "1" }, options: {} });
    expect(await rows(name)).toHaveLength(1);
    lazyClock.advance(1500);
    expect(await store.get({ key: "demo||short", metadata: {}, options: {} })).toBeUndefined();
    await store.close();
    expect(await rows(name)).toEqual([]);
  });

  it("never lets the lazy cleanup delete a newer write", async () => {
    const name = uniqueTable("race");
    const proxy = await startGatedProxy(origin(), (method) => method === "DELETE");
    try {
      const readerClock = createTestClock();
      readerClock.advance(60_000);
      const reader = createTableStateStore({ azure, clock: readerClock.now });
      await reader.init({ ...keyProperties(name), serviceURL: proxy.origin });
      const writer = createTableStateStore({ azure });
      await writer.init(keyProperties(name));
      await writer.set({ key: "demo||k", value: '"old"', metadata: { ttlInSeconds: "30" }, options: {} });
      expect(await reader.get({ key: "demo||k", metadata: {}, options: {} })).toBeUndefined();
      await expect.poll(() => proxy.held()).toBe(1);
      await writer.set({ key: "demo||k", value: '"new"', metadata: {}, options: {} });
      proxy.release();
      await reader.close();
      expect((await writer.get({ key: "demo||k", metadata: {}, options: {} }))?.data).toBe('"new"');
      await writer.close();
    } finally {
      await proxy.close();
    }
  });
});

describe("large values on Azure Table (Azurite)", () => {
  /** A JSON string value of about `bytes` UTF-8 bytes, with multi-byte and surrogate-pair characters. */
  const bigValue = (bytes: number): string => JSON.stringify(`é😀${"lorem ipsum ".repeat(Math.ceil(bytes / 12))}`.slice(0, bytes - 8));
  const columns = async (tableName: string, rowKey: string): Promise<string[]> => {
    for await (const e of tableClient(tableName).listEntities()) if (e.rowKey === rowKey) return Object.keys(e).filter((k) => /^Value/.test(k)).sort();
    return [];
  };

  it("a 900 KB value round-trips with its etag and TTL, conditional writes included", async () => {
    const name = uniqueTable("large");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    const value = bigValue(900 * 1024);
    expect(Buffer.byteLength(value)).toBeGreaterThan(900_000);
    await store.set({ key: "demo||big", value, metadata: { ttlInSeconds: "3600" }, options: {} });
    const item = await store.get({ key: "demo||big", metadata: {}, options: {} });
    expect(item?.data).toBe(value);
    expect(item?.etag).toMatch(/^W\/"datetime'.+'"$/);
    expect(item?.metadata?.ttlExpireTime).toEqual(expect.any(String));
    expect((await columns(name, "big")).length).toBeGreaterThan(2);
    // A stale etag still fails; the current one replaces the value, and a small value drops the parts.
    await expect(store.set({ key: "demo||big", value: '"x"', etag: 'W/"datetime\'2020-01-01T00%3A00%3A00Z\'"', metadata: {}, options: {} })).rejects.toSatisfy(isETagError);
    await store.set({ key: "demo||big", value: '"small"', etag: item?.etag, metadata: {}, options: {} });
    expect((await store.get({ key: "demo||big", metadata: {}, options: {} }))?.data).toBe('"small"');
    expect(await columns(name, "big")).toEqual(["Value"]);
    await store.close();
  });

  it("large values in a transaction, and a value beyond the entity limit is refused naming it, writing nothing", async () => {
    const name = uniqueTable("largetx");
    const store = createTableStateStore({ azure });
    await store.init(keyProperties(name));
    const a = bigValue(300 * 1024);
    const b = bigValue(500 * 1024);
    await store.transact({ operations: [upsert("demo||a", a), upsert("demo||b", b), upsert("demo||c", '"c"')], metadata: {} });
    expect((await store.get({ key: "demo||a", metadata: {}, options: {} }))?.data).toBe(a);
    expect((await store.get({ key: "demo||b", metadata: {}, options: {} }))?.data).toBe(b);
    const tooBig = bigValue(1_100_000);
    const error = await store.set({ key: "demo||huge", value: tooBig, metadata: {}, options: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(ValueTooLargeError);
    expect((error as Error).message).toContain("at most 1040000 bytes");
    await expect(store.transact({ operations: [upsert("demo||c", '"changed"'), upsert("demo||huge", tooBig)], metadata: {} })).rejects.toBeInstanceOf(ValueTooLargeError);
    expect(await store.get({ key: "demo||huge", metadata: {}, options: {} })).toBeUndefined();
    expect((await store.get({ key: "demo||c", metadata: {}, options: {} }))?.data).toBe('"c"');
    await store.close();
  });
});
