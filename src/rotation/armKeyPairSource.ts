/**
 * @module The ARM key-pair source: a real storage account's two keys through Azure Resource Manager
 * (`listKeys`, `regenerateKey`), so `storage-account-key` rotation works against Azure as it does
 * against Azurite. Regenerating the key that is about to become active means every rotation hands
 * out a fresh key while the previous one keeps working for a whole cycle.
 */
import type { StorageAccountKeysClient } from "../azure/rotationClients";
import { KeyPairSourceError, type KeyPairSource, type StorageAccountKeyPair, type StorageKeyName } from "./keyPairSources";

/** Configuration of {@link createArmKeyPairSource}. */
export interface ArmKeyPairSourceOptions {
  /** The resource group that holds the storage accounts this source rotates. */
  resourceGroup: string;
  client: StorageAccountKeysClient;
  /** Blob DNS suffix of the cloud, e.g. `blob.core.windows.net` (default) or `blob.core.chinacloudapi.cn`. */
  blobSuffix?: string;
}

/** Storage account names: 3–24 lower-case letters and digits (checked before any ARM call). */
const ACCOUNT_NAME = /^[a-z0-9]{3,24}$/;

function keyOf(keys: readonly { keyName?: string; value?: string }[] | undefined, name: StorageKeyName): string | undefined {
  return keys?.find((k) => k.keyName?.toLowerCase() === name)?.value;
}

/**
 * Creates the ARM source. Its identity needs "Storage Account Key Operator Service Role" on the
 * accounts (list and regenerate keys), and nothing else.
 * @example
 * const source = createArmKeyPairSource({ resourceGroup: "rg-state", client: createStorageAccountKeysClient(clients, subscriptionId) });
 */
export function createArmKeyPairSource(options: ArmKeyPairSourceOptions): KeyPairSource {
  const suffix = options.blobSuffix ?? "blob.core.windows.net";
  const checkName = (accountName: string): void => {
    if (!ACCOUNT_NAME.test(accountName)) throw new KeyPairSourceError(`"${accountName}" is not a storage account name`);
  };
  return {
    kind: "arm",
    blobServiceUrl(accountName) {
      checkName(accountName);
      return `https://${accountName}.${suffix}`;
    },
    async getKeys(accountName, callOptions): Promise<StorageAccountKeyPair> {
      checkName(accountName);
      const { keys } = await options.client.listKeys(options.resourceGroup, accountName, callOptions);
      const key1 = keyOf(keys, "key1");
      const key2 = keyOf(keys, "key2");
      if (key1 === undefined || key2 === undefined) throw new KeyPairSourceError(`ARM returned no key1/key2 pair for storage account "${accountName}"`);
      return { key1, key2 };
    },
    async regenerateKey(accountName, keyName, callOptions) {
      checkName(accountName);
      const { keys } = await options.client.regenerateKey(options.resourceGroup, accountName, { keyName }, callOptions);
      const fresh = keyOf(keys, keyName);
      if (fresh === undefined) throw new KeyPairSourceError(`ARM did not return the regenerated ${keyName} of storage account "${accountName}"`);
      return fresh;
    },
  };
}
