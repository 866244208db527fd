/**
 * @module Conformance of `state.azure.blobstorage` v1 and v2 on Azurite, plus the provider's own
 * behaviour: container management, auth forms, aliases, v1/v2 naming, content type and lazy TTL cleanup.
 */
import { randomUUID } from "node:crypto";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { createBlobStateStore } from "../../../../../src/components/state/azure/blobstorage/blobStateStore";
import { isETagError } from "../../../../../src/components/state/stateStore";
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
const origin = (): string => new URL(azurite().blobEndpoint).origin;
const keyProperties = (containerName: string): Record<string, string> => ({
  accountName: azurite().accountName,
  accountKey: azurite().accountKey,
  endpoint: origin(),
  containerName,
});
const service = (): BlobServiceClient => BlobServiceClient.fromConnectionString(azurite().connectionString);
const uniqueContainer = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`;
const blobNames = async (containerName: string): Promise<string[]> => {
  const names: string[] = [];
  for await (const blob of service().getContainerClient(containerName).listBlobsFlat()) names.push(blob.name);
  return names.sort();
};

for (const naming of ["v1", "v2"] as const) {
  const clock = createTestClock();
  runStateStoreConformance({
    name: `state.azure.blobstorage ${naming} (Azurite)`,
    features: naming === "v2" ? ["ETAG", "TTL", "QUERY_API"] : ["ETAG", "TTL"],
    clock,
    create: async () => {
      const store = createBlobStateStore({ azure, naming, clock: clock.now });
      await store.init({ ...keyProperties(`conformance-${naming}`), ...SEMANTICS_ONLY_TIMEOUT });
      return store;
    },
  });
}

describe("state.azure.blobstorage on Azurite", () => {
  it("creates the container at init", async () => {
    const name = uniqueContainer("created");
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init(keyProperties(name));
    expect(await service().getContainerClient(name).exists()).toBe(true);
    // A second init on the existing container is fine.
    const again = createBlobStateStore({ azure, naming: "v2" });
    await again.init(keyProperties(name));
    await Promise.all([store.close(), again.close()]);
  });

  it("does not create the container when disableEntityManagement=true, so writes fail", async () => {
    const name = uniqueContainer("unmanaged");
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init({ ...keyProperties(name), disableEntityManagement: "true" });
    expect(await service().getContainerClient(name).exists()).toBe(false);
    const error = await store.set({ key: "demo||k", value: '"v"', metadata: {}, options: {} }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(Error);
    expect(isETagError(error)).toBe(false);
    // A missing container is an error, not a missing key.
    await expect(store.get({ key: "demo||k", metadata: {}, options: {} })).rejects.toThrow();
    await expect(store.delete({ key: "demo||k", metadata: {}, options: {} })).rejects.toThrow();
    await store.close();
  });

  it("authenticates with a connection string", async () => {
    const name = uniqueContainer("connstr");
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init({ connectionString: azurite().connectionString, containerName: name });
    await store.set({ key: "demo||k", value: '"via connection string"', metadata: {}, options: {} });
    expect((await store.get({ key: "demo||k", metadata: {}, options: {} }))?.data).toBe('"via connection string"');
    expect(await blobNames(name)).toEqual(["demo||k"]);
    await store.close();
  });

  it("accepts Dapr's alias field names", async () => {
    const name = uniqueContainer("aliases");
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init({
      storageAccount: azurite().accountName,
      storageAccessKey: azurite().accountKey,
      storageAccountContainer: name,
      storageEndpoint: azurite().blobEndpoint, // with the account already in the path
    });
    await store.set({ key: "demo||k", value: "1", metadata: {}, options: {} });
    expect(await blobNames(name)).toEqual(["demo||k"]);
    await store.close();
  });

  it("names blobs without the prefix in v1 and with the full key in v2", async () => {
    const name = uniqueContainer("naming");
    const v1 = createBlobStateStore({ azure, naming: "v1" });
    const v2 = createBlobStateStore({ azure, naming: "v2" });
    await v1.init(keyProperties(name));
    await v2.init(keyProperties(name));
    await v1.set({ key: "demo||order1", value: '"v1"', metadata: {}, options: {} });
    await v2.set({ key: "demo||order1", value: '"v2"', metadata: {}, options: {} });
    await v1.set({ key: "a||b||c", value: '"legacy"', metadata: {}, options: {} });
    expect(await blobNames(name)).toEqual(["a", "demo||order1", "order1"]);
    // v1 ignores the prefix: another app's key lands on the same blob.
    expect((await v1.get({ key: "other||order1", metadata: {}, options: {} }))?.data).toBe('"v1"');
    await Promise.all([v1.close(), v2.close()]);
  });

  it("stores contentType metadata as the blob's content type and the TTL as blob metadata", async () => {
    const name = uniqueContainer("headers");
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init(keyProperties(name));
    await store.set({ key: "demo||typed", value: '{"a":1}', metadata: { contentType: "application/json", ttlInSeconds: "600" }, options: {} });
    const props = await service().getContainerClient(name).getBlobClient("demo||typed").getProperties();
    expect(props.contentType).toBe("application/json");
    expect(Object.keys(props.metadata ?? {}).map((k) => k.toLowerCase())).toEqual(["ttlexpiretime"]);
    // Rewriting without TTL clears the marker.
    await store.set({ key: "demo||typed", value: '{"a":2}', metadata: {}, options: {} });
    expect((await service().getContainerClient(name).getBlobClient("demo||typed").getProperties()).metadata).toEqual({});
    await store.close();
  });

  it("removes an expired blob lazily after reading it", async () => {
    const name = uniqueContainer("lazy");
    const clock = createTestClock();
    const store = createBlobStateStore({ azure, naming: "v2", clock: clock.now });
    await store.init(keyProperties(name));
    await store.set({ key: "demo||short", value: '"x"', metadata: { ttlInSeconds: "1" }, options: {} });
    expect(await blobNames(name)).toEqual(["demo||short"]);
    clock.advance(1500);
    expect(await store.get({ key: "demo||short", metadata: {}, options: {} })).toBeUndefined();
    await store.close(); // waits for the background cleanup
    expect(await blobNames(name)).toEqual([]);
  });

  it("never lets the lazy cleanup delete a newer write", async () => {
    const name = uniqueContainer("race");
    const proxy = await startGatedProxy(origin(), (method) => method === "DELETE");
    try {
      const clock = createTestClock();
      clock.advance(60_000);
      // The reader sees the item as expired and its cleanup DELETE is held at the proxy.
      const reader = createBlobStateStore({ azure, naming: "v2", clock: clock.now });
      await reader.init({ ...keyProperties(name), endpoint: proxy.origin });
      const writer = createBlobStateStore({ azure, naming: "v2" });
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

  it("honours an aborted signal", async () => {
    const store = createBlobStateStore({ azure, naming: "v2" });
    await store.init(keyProperties(uniqueContainer("abort")));
    const controller = new AbortController();
    controller.abort();
    await expect(store.get({ key: "demo||k", metadata: {}, options: {} }, { abortSignal: controller.signal })).rejects.toThrow();
    await store.close();
  });
});
