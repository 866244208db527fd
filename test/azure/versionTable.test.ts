/**
 * The version table's batched registration against Azurite: rows nobody has written cost one
 * transaction per 100 of a partition; a batch that meets a row another instance wrote falls back to
 * publishing each row, where the newer version wins as it does for single publishes. And its reads:
 * each page carries the service's clock, and a read given a time returns only rows stamped since.
 */
import { describe, expect, it, vi } from "vitest";
import { createAzureClients } from "../../src/azure/clients";
import { changedSinceFilter, createTableVersionTable, MAX_TRANSACTION_ROWS, readVersionTable, registrationBatches, type VersionPage, type VersionRow, type VersionTable } from "../../src/azure/versionTable";
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

describe("version table reads since a server time on Azurite", () => {
  const readAll = async (table: VersionTable, changedSince?: number): Promise<VersionPage[]> => {
    const pages: VersionPage[] = [];
    for await (const page of table.pages(changedSince)) pages.push(page);
    return pages;
  };

  it("formats the filter as an OData datetime", () => {
    expect(changedSinceFilter(Date.UTC(2026, 11, 4, 12, 0, 0, 250))).toBe("Timestamp ge datetime'2026-12-04T12:00:00.250Z'");
  });

  it("of 1,000 rows, returns only the one written after the given server time; every page carries the service's clock", async () => {
    const { table } = tableOf("versionssince");
    await table.register(Array.from({ length: 1_000 }, (_, i) => row(VAULT, `s${i}`, "v1", 1_000)));
    // The Date header is rounded down to the second: past it, every earlier stamp is older.
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    const full = await readAll(table);
    expect(full.flatMap((p) => p.rows).length).toBe(1_000);
    const serverTime = full[0]?.serverTime;
    expect(serverTime).toBeDefined();
    expect(full.every((p) => p.serverTime !== undefined)).toBe(true);
    expect(Math.abs((serverTime ?? 0) - Date.now())).toBeLessThan(10_000);
    await table.publish(row(VAULT, "s7", "v2", 2_000));
    const changed = await readAll(table, serverTime);
    expect(changed.flatMap((p) => p.rows)).toEqual([row(VAULT, "s7", "v2", 2_000)]);
    // Nothing written since: one empty page, still with the service's clock.
    const later = await readAll(table, (changed[0]?.serverTime ?? 0) + 2_000);
    expect(later.map((p) => p.rows.length)).toEqual([0]);
    expect(later[0]?.serverTime).toBeDefined();
  });
});
