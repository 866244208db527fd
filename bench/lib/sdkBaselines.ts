/**
 * @module bench/lib/sdkBaselines: P3's baselines, the same save+get done with the Azure SDKs directly
 * against the same Azurite account and container/table the app uses, and with a plain `Map`.
 */
import { AzureNamedKeyCredential, TableClient } from "@azure/data-tables";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import type { AzuriteInstance } from "../../tools/azurite";

/** One save+get of `key`; resolves to its milliseconds. */
export type PairTimer = (key: string) => Promise<number>;

/** Builds the baselines; creates the container and table if the app has not yet. */
export async function sdkBaselines(options: { azurite: AzuriteInstance; containerName: string; tableName: string }): Promise<{
  blob: (value: string) => PairTimer;
  table: (value: string) => PairTimer;
  map: (value: string) => PairTimer;
}> {
  const { azurite } = options;
  const container = new BlobServiceClient(azurite.blobEndpoint, new StorageSharedKeyCredential(azurite.accountName, azurite.accountKey)).getContainerClient(options.containerName);
  await container.createIfNotExists();
  const table = new TableClient(azurite.tableEndpoint, options.tableName, new AzureNamedKeyCredential(azurite.accountName, azurite.accountKey), { allowInsecureConnection: true });
  await table.createTable();
  const map = new Map<string, string>();
  return {
    blob: (value) => async (key) => {
      const t0 = performance.now();
      const blob = container.getBlockBlobClient(`bench-sdk||${key}`);
      const body = Buffer.from(value, "utf8");
      await blob.upload(body, body.length);
      const download = await blob.download();
      const chunks: Buffer[] = [];
      for await (const chunk of download.readableStreamBody ?? []) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk as string));
      if (Buffer.concat(chunks).toString("utf8") !== value) throw new Error("P3 blob baseline read back a different value");
      return performance.now() - t0;
    },
    table: (value) => async (key) => {
      const t0 = performance.now();
      await table.upsertEntity({ partitionKey: "bench-sdk", rowKey: key, Value: value }, "Replace");
      const entity = await table.getEntity<{ Value: string }>("bench-sdk", key);
      if (entity.Value !== value) throw new Error("P3 table baseline read back a different value");
      return performance.now() - t0;
    },
    map: (value) => async (key) => {
      const t0 = performance.now();
      map.set(key, value);
      if (map.get(key) !== value) throw new Error("P3 map baseline read back a different value");
      return performance.now() - t0;
    },
  };
}
