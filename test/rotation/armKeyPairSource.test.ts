import { describe, expect, it } from "vitest";
import type { StorageAccountKeysClient } from "../../src/azure/rotationClients";
import { createArmKeyPairSource } from "../../src/rotation/armKeyPairSource";
import { KeyPairSourceError } from "../../src/rotation/keyPairSources";

/** An in-memory stand-in for ARM's storageAccounts operations (pure unit test; ARM is not reachable here). */
function fakeArm() {
  const calls: string[] = [];
  const accounts = new Map<string, { key1: string; key2: string }>([["statestore01", { key1: "a2V5MQ==", key2: "a2V5Mg==" }]]);
  let generation = 0;
  const listed = (name: string) => {
    const a = accounts.get(name);
    if (a === undefined) throw Object.assign(new Error("ResourceNotFound"), { statusCode: 404 });
    return { keys: [{ keyName: "key1", value: a.key1 }, { keyName: "key2", value: a.key2 }] };
  };
  const client: StorageAccountKeysClient = {
    async listKeys(resourceGroup, accountName) {
      calls.push(`listKeys ${resourceGroup}/${accountName}`);
      return listed(accountName);
    },
    async regenerateKey(resourceGroup, accountName, { keyName }) {
      calls.push(`regenerateKey ${resourceGroup}/${accountName} ${keyName}`);
      const a = accounts.get(accountName);
      if (a === undefined) throw new Error("ResourceNotFound");
      const fresh = Buffer.from(`regenerated-${++generation}`).toString("base64");
      if (keyName === "key1") a.key1 = fresh;
      else a.key2 = fresh;
      return listed(accountName);
    },
  };
  return { client, calls, accounts };
}

describe("ARM key-pair source", () => {
  it("lists both keys of an account in its resource group", async () => {
    const arm = fakeArm();
    const source = createArmKeyPairSource({ resourceGroup: "rg-state", client: arm.client });
    expect(source.kind).toBe("arm");
    expect(await source.getKeys("statestore01")).toEqual({ key1: "a2V5MQ==", key2: "a2V5Mg==" });
    expect(arm.calls).toEqual(["listKeys rg-state/statestore01"]);
  });

  it("regenerates exactly the key that is about to become active and returns its new value", async () => {
    const arm = fakeArm();
    const source = createArmKeyPairSource({ resourceGroup: "rg-state", client: arm.client });
    const fresh = await source.regenerateKey?.("statestore01", "key2");
    expect(fresh).toBe(Buffer.from("regenerated-1").toString("base64"));
    expect(arm.accounts.get("statestore01")).toEqual({ key1: "a2V5MQ==", key2: fresh });
    expect(arm.calls).toEqual(["regenerateKey rg-state/statestore01 key2"]);
  });

  it("builds the account's blob URL for the check, per cloud", () => {
    expect(createArmKeyPairSource({ resourceGroup: "rg", client: fakeArm().client }).blobServiceUrl("statestore01")).toBe("https://statestore01.blob.core.windows.net");
    expect(createArmKeyPairSource({ resourceGroup: "rg", client: fakeArm().client, blobSuffix: "blob.core.chinacloudapi.cn" }).blobServiceUrl("statestore01")).toBe(
      "https://statestore01.blob.core.chinacloudapi.cn",
    );
  });

  it("refuses names that are not storage account names before calling ARM", async () => {
    const arm = fakeArm();
    const source = createArmKeyPairSource({ resourceGroup: "rg", client: arm.client });
    for (const name of ["Upper", "ab", "with-dash", "../x", "a".repeat(25)]) {
      expect(() => source.blobServiceUrl(name)).toThrow(KeyPairSourceError);
      await expect(source.getKeys(name)).rejects.toThrow(KeyPairSourceError);
    }
    expect(arm.calls).toEqual([]);
  });

  it("reports a missing key pair without any key value in the message", async () => {
    const source = createArmKeyPairSource({
      resourceGroup: "rg",
      client: { listKeys: async () => ({ keys: [{ keyName: "key1", value: "c2VjcmV0LWtleQ==" }] }), regenerateKey: async () => ({ keys: [] }) },
    });
    const error = await source.getKeys("statestore01").then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(KeyPairSourceError);
    expect(error?.message).not.toContain("c2VjcmV0LWtleQ==");
    await expect(source.regenerateKey?.("statestore01", "key1")).rejects.toThrow(/did not return the regenerated key1/);
  });
});
