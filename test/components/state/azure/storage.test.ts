/**
 * @module Unit tests of the Azure Storage client factory's pure parts (src/azure/storage.ts).
 */
import { describe, expect, it } from "vitest";
import type { CredentialSource } from "../../../../src/azure/credential";
import {
  connectionStringUsesHttp,
  createBlobServiceClient,
  createTableClient,
  resolveServiceUrl,
  storageAuthKind,
} from "../../../../src/azure/storage";

/** Shared-key and connection-string clients never ask for a credential. */
const noCredential: CredentialSource = () => {
  throw new Error("no credential expected");
};

describe("resolveServiceUrl", () => {
  it.each([
    ["blob", "acct", undefined, "https://acct.blob.core.windows.net"],
    ["table", "acct", undefined, "https://acct.table.core.windows.net"],
    ["blob", "devstoreaccount1", "http://127.0.0.1:10000", "http://127.0.0.1:10000/devstoreaccount1"],
    ["blob", "devstoreaccount1", "http://127.0.0.1:10000/", "http://127.0.0.1:10000/devstoreaccount1"],
    ["blob", "devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1", "http://127.0.0.1:10000/devstoreaccount1"],
    ["table", "devstoreaccount1", "http://azurite:10002", "http://azurite:10002/devstoreaccount1"],
    ["blob", "acct", "https://acct.blob.core.chinacloudapi.cn/", "https://acct.blob.core.chinacloudapi.cn"],
    ["blob", "acct", "https://acct.privatelink.blob.core.windows.net", "https://acct.privatelink.blob.core.windows.net"],
  ] as const)("%s %s %s → %s", (service, account, endpoint, expected) => {
    expect(resolveServiceUrl(service, account, endpoint)).toBe(expected);
  });

  it("uses the Cosmos DB table endpoint in Cosmos mode", () => {
    expect(resolveServiceUrl("table", "acct", undefined, { cosmosDb: true })).toBe("https://acct.table.cosmos.azure.com");
  });

  it("rejects endpoints that are not absolute http(s) URLs", () => {
    expect(() => resolveServiceUrl("blob", "a", "127.0.0.1:10000")).toThrow(TypeError);
    expect(() => resolveServiceUrl("blob", "a", "ftp://host")).toThrow(TypeError);
  });
});

describe("auth selection", () => {
  it("prefers a connection string, then an account key, then managed identity", () => {
    expect(storageAuthKind({ connectionString: "x", accountKey: "k" })).toBe("connectionString");
    expect(storageAuthKind({ accountKey: "k" })).toBe("accountKey");
    expect(storageAuthKind({})).toBe("managedIdentity");
    expect(storageAuthKind({ accountKey: "", connectionString: "" })).toBe("managedIdentity");
  });

  it.each([
    ["DefaultEndpointsProtocol=http;AccountName=a;AccountKey=k;", true],
    ["UseDevelopmentStorage=true", true],
    ["AccountName=a;AccountKey=k;TableEndpoint=http://127.0.0.1:10002/a;", true],
    ["DefaultEndpointsProtocol=https;AccountName=a;AccountKey=k;EndpointSuffix=core.windows.net", false],
  ])("connectionStringUsesHttp(%j) = %s", (cs, expected) => {
    expect(connectionStringUsesHttp(cs)).toBe(expected);
  });
});

describe("client construction (no network)", () => {
  const key = Buffer.from("k".repeat(32)).toString("base64");

  it("builds blob clients on the resolved URL for keys and connection strings", () => {
    expect(createBlobServiceClient({ accountName: "acct", accountKey: key, endpoint: "http://127.0.0.1:10000" }, noCredential).url).toBe("http://127.0.0.1:10000/acct");
    expect(createBlobServiceClient({ connectionString: `DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=${key};EndpointSuffix=core.windows.net` }, noCredential).accountName).toBe("acct");
  });

  it("builds table clients for keys and connection strings", () => {
    const client = createTableClient({ accountName: "acct", accountKey: key, endpoint: "http://127.0.0.1:10002", tableName: "t" }, noCredential);
    expect(client.url).toBe("http://127.0.0.1:10002/acct");
    expect(client.tableName).toBe("t");
    expect(createTableClient({ connectionString: `DefaultEndpointsProtocol=http;AccountName=acct;AccountKey=${key};TableEndpoint=http://127.0.0.1:10002/acct;`, tableName: "t" }, noCredential).url).toBe(
      "http://127.0.0.1:10002/acct",
    );
  });

  it("requires an account name without a connection string", () => {
    expect(() => createBlobServiceClient({ accountKey: key }, noCredential)).toThrow(TypeError);
    expect(() => createTableClient({ tableName: "t" }, noCredential)).toThrow(TypeError);
  });
});
