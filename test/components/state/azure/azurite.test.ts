/**
 * @module Tests of tools/azurite.ts: pure helpers, and a real start/stop with a custom account.
 */
import * as fs from "node:fs";
import { BlobServiceClient } from "@azure/storage-blob";
import { describe, expect, it } from "vitest";
import { DEV_ACCOUNT_KEY, buildConnectionString, parseAzuriteAccounts, parseListeningLine, startAzurite } from "../../../../tools/azurite";

describe("azurite helpers", () => {
  it("parses AZURITE_ACCOUNTS, keeping the first key", () => {
    expect(parseAzuriteAccounts("acct1:key1:key2; acct2:key3;")).toEqual([
      { name: "acct1", key: "key1" },
      { name: "acct2", key: "key3" },
    ]);
    expect(() => parseAzuriteAccounts("nokey")).toThrow(RangeError);
  });

  it("reads the real port from the start-up line", () => {
    expect(parseListeningLine("Azurite Table service is successfully listening at http://127.0.0.1:45123")).toEqual({ service: "table", port: 45123 });
    expect(parseListeningLine("Azurite Blob service is starting at http://127.0.0.1:0")).toBeUndefined();
  });

  it("builds a path-style connection string", () => {
    expect(
      buildConnectionString({ name: "a", key: "k" }, { blob: "http://127.0.0.1:1/a", queue: "http://127.0.0.1:2/a", table: "http://127.0.0.1:3/a" }),
    ).toBe("DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;BlobEndpoint=http://127.0.0.1:1/a;QueueEndpoint=http://127.0.0.1:2/a;TableEndpoint=http://127.0.0.1:3/a;");
  });
});

describe("startAzurite", () => {
  it("serves a custom account on free loopback ports and cleans up on stop", async () => {
    const key = Buffer.from("custom-account-key-0123456789abcdef").toString("base64");
    const azurite = await startAzurite({ accounts: `custom1:${key}` });
    try {
      expect(azurite.accountName).toBe("custom1");
      expect(azurite.accountKey).toBe(key);
      expect(azurite.accountKey).not.toBe(DEV_ACCOUNT_KEY);
      expect(azurite.blobEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/custom1$/);
      expect(azurite.tableEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/custom1$/);
      const container = BlobServiceClient.fromConnectionString(azurite.connectionString).getContainerClient("probe");
      await container.create();
      expect(await container.exists()).toBe(true);
    } finally {
      await azurite.stop();
    }
    // Stopped: the port no longer answers, and stop() is idempotent.
    await expect(fetch(azurite.blobEndpoint, { signal: AbortSignal.timeout(2000) })).rejects.toThrow();
    await azurite.stop();
  });

  it("keeps a caller-provided data folder and removes only its own temp folder", async () => {
    const dataDir = fs.mkdtempSync(`${process.env.TMPDIR ?? "/tmp"}/vaultstate-azurite-test-`);
    try {
      const azurite = await startAzurite({ dataDir });
      await azurite.stop();
      expect(fs.existsSync(dataDir)).toBe(true);
      expect(fs.readdirSync(dataDir).some((f) => f.startsWith("__azurite_db_"))).toBe(true);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
