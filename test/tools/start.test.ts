/**
 * @module `npm start`: its arguments, and that Azurite data in a kept folder survives a restart (what
 * `npm start` relies on for `.vaultstate/azurite`).
 */
import { randomUUID } from "node:crypto";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TableClient } from "@azure/data-tables";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { startAzurite } from "../../tools/azurite";
import { AZURITE_DATA_DIR, parseStartArgs } from "../../tools/start";

describe("npm start arguments", () => {
  it("keeps data by default; --fresh asks for an empty Azurite folder; anything else is refused", () => {
    expect(parseStartArgs([])).toEqual({ fresh: false });
    expect(parseStartArgs(["--fresh"])).toEqual({ fresh: true });
    expect(() => parseStartArgs(["--frsh"])).toThrow(/unknown argument "--frsh".*--fresh/);
  });

  it("keeps Azurite's data inside the git-ignored .vaultstate folder", () => {
    const root = path.resolve(__dirname, "..", "..");
    expect(path.relative(root, AZURITE_DATA_DIR)).toBe(path.join(".vaultstate", "azurite"));
    expect(fs.readFileSync(path.join(root, ".gitignore"), "utf8").split(/\r?\n/)).toContain(".vaultstate/");
  });
});

describe("Azurite with a kept data folder", () => {
  it("serves blobs and table rows written before a restart, and leaves the folder in place", async () => {
    const dataDir = await fs.promises.mkdtemp(path.join(os.tmpdir(), "vaultstate-kept-azurite-"));
    const name = `kept${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    try {
      const first = await startAzurite({ dataDir });
      try {
        const container = BlobServiceClient.fromConnectionString(first.connectionString).getContainerClient(name);
        await container.createIfNotExists();
        await container.getBlockBlobClient("demo||k").upload('"kept"', 6);
        const table = TableClient.fromConnectionString(first.connectionString, name, { allowInsecureConnection: true });
        await table.createTable();
        await table.upsertEntity({ partitionKey: "demo", rowKey: "k", Value: '"kept"' });
      } finally {
        await first.stop();
      }
      expect(fs.existsSync(dataDir)).toBe(true);

      // Ports are new on every start; the data is not.
      const second = await startAzurite({ dataDir });
      try {
        const blob = BlobServiceClient.fromConnectionString(second.connectionString).getContainerClient(name).getBlockBlobClient("demo||k");
        expect((await blob.downloadToBuffer()).toString("utf8")).toBe('"kept"');
        const table = TableClient.fromConnectionString(second.connectionString, name, { allowInsecureConnection: true });
        expect((await table.getEntity<{ Value: string }>("demo", "k")).Value).toBe('"kept"');
      } finally {
        await second.stop();
      }
    } finally {
      await fs.promises.rm(dataDir, { recursive: true, force: true });
    }
  }, 120_000);
});
