/**
 * @module Unit tests of the table store's pure parts: metadata, key mapping, etag form, entities.
 */
import { describe, expect, it } from "vitest";
import { MetadataError } from "../../../../../src/components/metadata";
import {
  COSMOS_EMPTY_ROW_KEY,
  entityExpiry,
  isTableETag,
  isValidTableKey,
  parseTableStateStoreMetadata,
  tableKeysFor,
  stateKeyOf,
  tombstoneEntity,
  valueEntity,
} from "../../../../../src/components/state/azure/tablestorage/tableStateStoreMetadata";

describe("parseTableStateStoreMetadata", () => {
  it("parses canonical fields with defaults", () => {
    expect(parseTableStateStoreMetadata({ accountName: "acct", accountKey: "key", tableName: "state" })).toEqual({
      accountName: "acct",
      accountKey: "key",
      tableName: "state",
      cosmosDbMode: false,
      skipCreateTable: false,
      timeoutInMs: 10_000,
    });
  });

  it("accepts Dapr's aliases and vaultstate's extra fields", () => {
    expect(
      parseTableStateStoreMetadata({
        storageAccountName: "acct",
        storageAccessKey: "key",
        storageAccountTable: "t",
        serviceURL: "http://127.0.0.1:10002/acct",
        cosmosDbMode: "false",
        skipCreateTable: "TRUE",
        azureClientId: "client",
        timeoutInSeconds: "3",
      }),
    ).toEqual({
      accountName: "acct",
      accountKey: "key",
      tableName: "t",
      serviceURL: "http://127.0.0.1:10002/acct",
      cosmosDbMode: false,
      skipCreateTable: true,
      azureClientId: "client",
      timeoutInMs: 3_000,
    });
    expect(parseTableStateStoreMetadata({ storageAccount: "a", accessKey: "k", table: "t" })).toMatchObject({ accountName: "a", accountKey: "k", tableName: "t" });
    expect(parseTableStateStoreMetadata({ connectionString: "UseDevelopmentStorage=true", tableName: "t" })).toMatchObject({ connectionString: "UseDevelopmentStorage=true" });
  });

  it.each([
    [{ tableName: "t" }, "accountName"],
    [{ accountName: "a" }, "tableName"],
    [{ accountName: "a", tableName: "t", skipCreateTable: "sometimes" }, "skipCreateTable"],
    [{ accountName: "a", tableName: "t", cosmosDbMode: "2" }, "cosmosDbMode"],
    [{ accountName: "a", tableName: "t", timeoutInSeconds: "0" }, "timeoutInSeconds"],
    [{ accountName: "a", tableName: "t", timeoutInSeconds: "301" }, "timeoutInSeconds"],
  ])("rejects %j naming the field %s", (properties, field) => {
    let error: unknown;
    try {
      parseTableStateStoreMetadata(properties);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MetadataError);
    expect((error as MetadataError).field).toBe(field);
  });
});

describe("tableKeysFor", () => {
  it.each([
    ["myapp||order1", { partitionKey: "myapp", rowKey: "order1" }],
    ["actor||type||id||k", { partitionKey: "actor", rowKey: "type||id||k" }],
    ["nokey", { partitionKey: "nokey", rowKey: "" }],
    ["app||", { partitionKey: "app", rowKey: "" }],
    ["||k", { partitionKey: "", rowKey: "k" }],
  ])("%j → %j", (key, expected) => {
    expect(tableKeysFor(key)).toEqual(expected);
  });

  it("uses Dapr's placeholder for an empty RowKey in Cosmos DB mode", () => {
    expect(tableKeysFor("nokey", true)).toEqual({ partitionKey: "nokey", rowKey: COSMOS_EMPTY_ROW_KEY });
    expect(tableKeysFor("app||k", true)).toEqual({ partitionKey: "app", rowKey: "k" });
  });

  it.each([
    ["app||a/b", { partitionKey: "app", rowKey: "a%2Fb" }],
    ["app||a\\b#c?d", { partitionKey: "app", rowKey: "a%5Cb%23c%3Fd" }],
    ["a/b||k", { partitionKey: "a%2Fb", rowKey: "k" }],
    ["app||tab\there", { partitionKey: "app", rowKey: "tab%09here" }],
    ["app||100%2F", { partitionKey: "app", rowKey: "100%252F" }],
  ])("encodes %j reversibly → %j", (key, expected) => {
    expect(tableKeysFor(key)).toEqual(expected);
    expect(stateKeyOf(expected)).toBe(key);
  });

  it("stateKeyOf inverts the mapping, Cosmos placeholder included", () => {
    for (const key of ["myapp||order1", "actor||type||id||k", "nokey", "||k"]) expect(stateKeyOf(tableKeysFor(key))).toBe(key);
    expect(stateKeyOf(tableKeysFor("nokey", true), true)).toBe("nokey");
  });

  it("refuses a key longer than Azure allows after encoding", () => {
    expect(() => tableKeysFor(`app||${"a".repeat(512)}`)).not.toThrow();
    expect(() => tableKeysFor(`app||${"a".repeat(513)}`)).toThrow(RangeError);
    expect(() => tableKeysFor(`app||${"/".repeat(200)}`)).toThrow(RangeError);
  });

  it("allows quotes, spaces and non-ASCII", () => {
    expect(isValidTableKey("it's ✓ é (1)")).toBe(true);
  });
});

describe("isTableETag", () => {
  it.each([
    [`W/"datetime'2023-05-09T12%3A28%3A54.1442151Z'"`, true],
    ["bad-etag", false],
    ["1234", false],
    ['"0x8DB"', false],
    ["*", false],
    [`W/"datetime'a b'"`, false],
  ])("%j → %s", (etag, expected) => {
    expect(isTableETag(etag)).toBe(expected);
  });
});

describe("entities", () => {
  const keys = { partitionKey: "p", rowKey: "r" };

  it("writes Value, and the expiry only when there is one", () => {
    expect(valueEntity(keys, '"v"', undefined)).toEqual({ partitionKey: "p", rowKey: "r", Value: '"v"' });
    expect(valueEntity(keys, '"v"', 1000)).toEqual({ partitionKey: "p", rowKey: "r", Value: '"v"', TtlExpireTime: new Date(1000) });
  });

  it("makes tombstones that are already expired and carry no value", () => {
    const tombstone = tombstoneEntity(keys);
    expect(tombstone).toEqual({ partitionKey: "p", rowKey: "r", TtlExpireTime: new Date(0) });
    expect(entityExpiry(tombstone)).toBe(0);
  });

  it("reads the expiry as Date or text and ignores garbage", () => {
    expect(entityExpiry({ TtlExpireTime: new Date(5000) })).toBe(5000);
    expect(entityExpiry({ TtlExpireTime: "1970-01-01T00:00:05.000Z" })).toBe(5000);
    expect(entityExpiry({ TtlExpireTime: 5 })).toBeUndefined();
    expect(entityExpiry({ TtlExpireTime: new Date("nope") })).toBeUndefined();
    expect(entityExpiry({})).toBeUndefined();
  });
});
