/**
 * The version table's batched registration against Azurite: rows nobody has written cost one
 * transaction per 100 of a partition; a batch that meets a row another instance wrote falls back to
 * publishing each row, where the newer version wins as it does for single publishes.
 */
import { describe, expect, it, vi } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import { createTableVersionTable, MAX_TRANSACTION_ROWS, readVersionTable, registrationBatches, type VersionRow } from "../../src/azure/versionTable";
import { useAzurite } from "../setup/azurite";

const azurite = useAzurite();
const VAULT = "https://dev.vault.azure.net";
const OTHER = "https://other.vault.azure.net/";

function tableOf(tableName: string) {
  const client = createAzureClients({}).table({ connectionString: azurite().connectionString, tableName });
  const calls = { transactions: vi.spyOn(client, "submitTransaction"), reads: vi.spyOn(client, "getEntity"), creates: vi.spyOn(client, "createEntity"), updates: vi.spyOn(client, "updateEntity") };
  return { table: createTableVersionTable(client), calls };
}

const row = (vaultUrl: string, secretName: string, version: string, updatedOn: number): VersionRow => ({ vaultUrl, secretName, version, updatedOn });

describe("registrationBatches (pure)", () => {
  it("splits by partition and by 100, keeping the newest row of a name in any letter case", () => {
    const rows = [...Array.from({ length: 250 }, (_, i) => row(VAULT, `s${i}`, "v1", 1)), row(OTHER, "s0", "v1", 1), row(VAULT, "S1", "v2", 2), row(VAULT, "s2", "v0", 0)];
    const batches = registrationBatches(rows);
    expect(batches.map((b) => b.length)).toEqual([MAX_TRANSACTION_ROWS, MAX_TRANSACTION_ROWS, 50, 1]);
    const dev = batches.slice(0, 3).flat();
    expect(dev.every((r) => r.vaultUrl === VAULT)).toBe(true);
    expect(new Set(dev.map((r) => r.secretName.toLowerCase())).size).toBe(250);
    expect(dev.find((r) => r.secretName.toLowerCase() === "s1")).toEqual(row(VAULT, "S1", "v2", 2));
    expect(dev.find((r) => r.secretName === "s2")?.version).toBe("v1");
    expect(batches[3]).toEqual([row(OTHER, "s0", "v1", 1)]);
  });
});

describe("version table registration on Azurite", () => {
  it("registers 250 new rows in 3 transactions, with no read or single write", async () => {
    const { table, calls } = tableOf("versionsbatch");
    await table.register(Array.from({ length: 250 }, (_, i) => row(VAULT, `s${i}`, `v${i}`, 1_000 + i)));
    expect(calls.transactions).toHaveBeenCalledTimes(3);
    expect(calls.reads).not.toHaveBeenCalled();
    expect(calls.creates).not.toHaveBeenCalled();
    const rows = await readVersionTable(table);
    expect(rows.length).toBe(250);
    expect(rows.find((r) => r.secretName === "s249")).toEqual(row(VAULT, "s249", "v249", 1_249));
  });

  it("a batch meeting rows another instance wrote publishes each row: newer versions win, older ones do not", async () => {
    const { table, calls } = tableOf("versionsconflict");
    await table.publish(row(VAULT, "newer-there", "v9", 9_000));
    await table.publish(row(VAULT, "older-there", "v0", 1));
    calls.transactions.mockClear();
    calls.creates.mockClear();
    await table.register([row(VAULT, "fresh", "v1", 1_000), row(VAULT, "newer-there", "v1", 1_000), row(VAULT, "older-there", "v1", 1_000)]);
    expect(calls.transactions).toHaveBeenCalledTimes(1);
    // The failed transaction wrote nothing; the fallback created the new row and replaced the older one.
    expect(calls.creates).toHaveBeenCalledTimes(1);
    expect(calls.updates).toHaveBeenCalledTimes(1);
    const byName = new Map((await readVersionTable(table)).map((r) => [r.secretName, r]));
    expect(byName.get("fresh")?.version).toBe("v1");
    expect(byName.get("newer-there")?.version).toBe("v9");
    expect(byName.get("older-there")?.version).toBe("v1");
  });

  it("registering nothing costs no call", async () => {
    const { table, calls } = tableOf("versionsempty");
    await table.register([]);
    expect(calls.transactions).not.toHaveBeenCalled();
  });
});
