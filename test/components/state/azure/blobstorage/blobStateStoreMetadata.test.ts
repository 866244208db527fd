/**
 * @module Unit tests of the blob store's pure parts: metadata, v1/v2 naming, request headers.
 */
import { describe, expect, it } from "vitest";
import {
  blobHeadersFromMetadata,
  blobNameFor,
  blobNameV1,
  blobNameV2,
  expiryTextFromBlobMetadata,
  parseBlobStateStoreMetadata,
  decodeBlobName,
} from "../../../../../src/components/state/azure/blobstorage/blobStateStoreMetadata";
import { MetadataError } from "../../../../../src/components/metadata";

describe("parseBlobStateStoreMetadata", () => {
  it("parses canonical fields with defaults", () => {
    expect(parseBlobStateStoreMetadata({ accountName: "acct", accountKey: "key", containerName: "state" })).toEqual({
      accountName: "acct",
      accountKey: "key",
      containerName: "state",
      retryCount: 3,
      timeoutInMs: 10_000,
      publicAccessLevel: "none",
      disableEntityManagement: false,
    });
  });

  it("accepts every Dapr alias, case-insensitively", () => {
    expect(
      parseBlobStateStoreMetadata({
        STORAGEACCOUNT: "acct",
        accessKey: "key",
        storageAccountContainer: "c",
        storageAccountEndpoint: "http://127.0.0.1:10000",
        retryCount: "5",
        publicAccessLevel: "Blob",
        disableEntityManagement: "true",
        azureClientId: "11111111-2222-3333-4444-555555555555",
      }),
    ).toEqual({
      accountName: "acct",
      accountKey: "key",
      containerName: "c",
      endpoint: "http://127.0.0.1:10000",
      retryCount: 5,
      timeoutInMs: 10_000,
      publicAccessLevel: "blob",
      disableEntityManagement: true,
      azureClientId: "11111111-2222-3333-4444-555555555555",
    });
    expect(parseBlobStateStoreMetadata({ storageAccountName: "a", storageAccessKey: "k", container: "c" })).toMatchObject({ accountName: "a", accountKey: "k", containerName: "c" });
    expect(parseBlobStateStoreMetadata({ accountName: "a", storageAccountKey: "k", containerName: "c", storageEndpoint: "http://x" })).toMatchObject({
      accountKey: "k",
      endpoint: "http://x",
    });
  });

  it("lets the deprecated getBlobRetryCount win over retryCount", () => {
    expect(parseBlobStateStoreMetadata({ accountName: "a", containerName: "c", retryCount: "2", getBlobRetryCount: "7" }).retryCount).toBe(7);
  });

  it("needs no account name or key with a connection string, and no key for managed identity", () => {
    expect(parseBlobStateStoreMetadata({ connectionString: "UseDevelopmentStorage=true", containerName: "c" })).toMatchObject({
      connectionString: "UseDevelopmentStorage=true",
      containerName: "c",
    });
    expect(parseBlobStateStoreMetadata({ accountName: "a", containerName: "c" }).accountKey).toBeUndefined();
  });

  it.each([
    [{ containerName: "c" }, "accountName"],
    [{ accountName: "a" }, "containerName"],
    [{ accountName: "a", containerName: "c", retryCount: "x" }, "retryCount"],
    [{ accountName: "a", containerName: "c", timeoutInSeconds: "ten" }, "timeoutInSeconds"],
    [{ accountName: "a", containerName: "c", publicAccessLevel: "public" }, "publicAccessLevel"],
    [{ accountName: "a", containerName: "c", disableEntityManagement: "maybe" }, "disableEntityManagement"],
  ])("rejects %j naming the field %s", (properties, field) => {
    expect(() => parseBlobStateStoreMetadata(properties)).toThrow(MetadataError);
    try {
      parseBlobStateStoreMetadata(properties);
    } catch (e) {
      expect((e as MetadataError).field).toBe(field);
    }
  });
});

describe("blob naming", () => {
  it.each([
    ["myapp||order1", "order1"],
    ["a||b||c", "a"],
    ["nokey", "nokey"],
    ["app||", ""],
  ])("v1 %j → %j (Dapr's getFileName)", (key, name) => {
    expect(blobNameV1(key)).toBe(name);
  });

  it.each([
    ["myapp||order1", "myapp||order1"],
    ["a||b||c", "a||b||c"],
    ["nokey", "nokey"],
  ])("v2 %j → %j", (key, name) => {
    expect(blobNameV2(key)).toBe(name);
  });

  it.each([
    ["app||a\\b", "app||a%5Cb"],
    ["app||a/../b", "app||a/%2E%2E/b"],
    ["app||./x", "app||./x"],
    ["..", "%2E%2E"],
    ["app||a%2Fb", "app||a%252Fb"],
    ["app||100%", "app||100%"],
    ["app||.../x.", "app||.../x."],
  ])("v2 encodes %j reversibly → %j", (key, name) => {
    expect(blobNameV2(key)).toBe(name);
    expect(decodeBlobName(name)).toBe(key);
  });

  it("refuses keys that map to an empty blob name", () => {
    expect(() => blobNameFor("v1", "app||")).toThrow(RangeError);
    expect(blobNameFor("v2", "app||")).toBe("app||");
  });
});

describe("blobHeadersFromMetadata", () => {
  it("maps Dapr's header metadata case-insensitively and ignores the rest", () => {
    expect(
      blobHeadersFromMetadata({
        ContentType: "application/json",
        contentEncoding: "gzip",
        contentLanguage: "en",
        contentDisposition: "inline",
        cacheControl: "no-cache",
        ttlInSeconds: "5",
        custom: "x",
      }),
    ).toEqual({
      blobContentType: "application/json",
      blobContentEncoding: "gzip",
      blobContentLanguage: "en",
      blobContentDisposition: "inline",
      blobCacheControl: "no-cache",
    });
  });

  it("decodes contentMD5 and rejects anything but 16 bytes of base64", () => {
    const md5 = Buffer.alloc(16, 7).toString("base64");
    expect(blobHeadersFromMetadata({ contentMD5: md5 }).blobContentMD5).toEqual(new Uint8Array(Buffer.alloc(16, 7)));
    expect(() => blobHeadersFromMetadata({ contentMD5: "AQ==" })).toThrow(RangeError);
    expect(() => blobHeadersFromMetadata({ contentMD5: "not base64!" })).toThrow(RangeError);
  });

  it("finds the TTL marker whatever case the service returns", () => {
    expect(expiryTextFromBlobMetadata({ TtlExpireTime: "2024-01-01T00:00:00.000Z" })).toBe("2024-01-01T00:00:00.000Z");
    expect(expiryTextFromBlobMetadata({})).toBeUndefined();
    expect(expiryTextFromBlobMetadata(undefined)).toBeUndefined();
  });
});
